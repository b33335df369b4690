// The fused loss head: sigmoid/softmax, cross-entropy, focal and soft Dice terms, their gradient
// with respect to the logits and the batch's confusion counts, in one OpenMP pass over the pixels
// (oneDNN has no loss primitives). The formulas are documented in src/engine/loss-terms.ts and
// src/engine/reference/loss.ts, the reference this is tested against.
#include <cmath>
#include <cstring>

#include "common.h"
#include "kernel.h"

namespace pyo {

namespace {
enum Kind { kCrossEntropy = 0, kDice = 1, kFocal = 2, kRegression = 3 };
// Target value of pixels the loss skips (src/image/ignore.ts): no value, no Dice sums, zero
// gradient, not counted; the pixel terms are means over the other pixels.
constexpr int kIgnore = 255;

// The pixels the loss counts, at least 1 so an all-ignored batch is worth 0, not NaN.
int64_t counted_pixels(const float* target, int64_t pixels) {
  int64_t counted = 0;
#pragma omp parallel for reduction(+ : counted) schedule(static)
  for (int64_t i = 0; i < pixels; ++i) counted += static_cast<int>(target[i]) != kIgnore;
  return std::max<int64_t>(counted, 1);
}

inline double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

struct LossTermOptions {
  std::string kind;
  double weight;
  template <typename F>
  void fields(F f) { f("kind", kind); f("weight", weight); }
};

struct LossOptions {
  int64_t classes, regression_channels;
  double focal_gamma, dice_smooth;
  std::vector<LossTermOptions> terms;
  template <typename F>
  void fields(F f) { f("classes", classes); f("focalGamma", focal_gamma); f("diceSmooth", dice_smooth); f("terms", terms);
    f("regressionChannels", regression_channels); }
};

struct LossJob;

// Everything a queued loss job touches, so it can outlive the JS object until the queue passes.
struct LossState {
  int classes_, regression_;
  double gamma_, smooth_;
  std::vector<int> kinds_;
  std::vector<double> weights_;
  std::vector<float> prob_;
  LayoutCache logits_cache_, target_cache_, weights_cache_, regression_cache_;
  Output value_, dlogits_, counts_;
  void release_js() { pyo::release_js(value_, dlogits_, counts_); }
  void compute(const LossJob& job);
  double regression(const LossJob& job);
};

// One loss evaluation: logits [N, K + R, H, W], target and optional pixel weights [N, H, W], the
// regression target [N, R, H, W] when R > 0, all plain.
struct LossJob {
  LossState* state;
  TensorPtr logits, target, pixel_weights, regression_target;
  void operator()() const { state->compute(*this); }
};

class Loss : public Kernel<Loss, LossOptions> {
 public:
  static constexpr const char* kName = "Loss";

  explicit Loss(const Napi::CallbackInfo& info) : Kernel(info), s_(std::make_unique<LossState>()) {
    LossState& s = *s_;
    s.classes_ = static_cast<int>(options_.classes);
    s.regression_ = static_cast<int>(options_.regression_channels);
    s.gamma_ = options_.focal_gamma;
    s.smooth_ = options_.dice_smooth;
    // Per-pixel class vectors live on the stack in the hot loop.
    if (s.classes_ < 1 || s.classes_ > 64) throw Napi::RangeError::New(info.Env(), "loss: 1 to 64 classes are supported");
    for (const auto& term : options_.terms) {
      if (term.kind != "crossEntropy" && term.kind != "dice" && term.kind != "focal" && term.kind != "regression") {
        throw Napi::RangeError::New(info.Env(), "loss: unknown term kind '" + term.kind + "'");
      }
      s.kinds_.push_back(term.kind == "dice"         ? kDice
                         : term.kind == "focal"      ? kFocal
                         : term.kind == "regression" ? kRegression
                                                     : kCrossEntropy);
      s.weights_.push_back(term.weight);
    }
  }
  ~Loss() override {
    s_->release_js();
    destroy_after_queue(s_.release());
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    LossState& st = *s_;
    TensorPtr logits = unwrap(info[0], "loss logits"), target = unwrap(info[1], "loss target");
    TensorPtr weights = unwrap_optional(info[2], "loss pixel weights");
    TensorPtr regression = info.Length() > 3 ? unwrap_optional(info[3], "loss regression target") : nullptr;
    const dims& s = logits->shape;
    if (s.size() != 4 || s[1] != st.classes_ + st.regression_) {
      throw std::runtime_error("loss: logits " + shape_text(s) + " do not have " + std::to_string(st.classes_ + st.regression_) +
                               " channels");
    }
    const dims r_shape{s[0], st.regression_, s[2], s[3]};
    if (st.regression_ > 0 && (!regression || regression->shape != r_shape)) {
      throw std::runtime_error("loss: the regression target should be " + shape_text(r_shape));
    }
    const dims t_shape{s[0], s[2], s[3]};
    if (target->shape != t_shape) {
      throw std::runtime_error("loss: target " + shape_text(target->shape) + " should be " + shape_text(t_shape));
    }
    if (weights && weights->shape != t_shape) {
      throw std::runtime_error("loss: pixel weights " + shape_text(weights->shape) + " should be " + shape_text(t_shape));
    }
    const int64_t terms = static_cast<int64_t>(st.kinds_.size());
    st.value_.ensure({1 + terms}, plain_md({1 + terms}));
    st.dlogits_.ensure(s, plain_md(s));
    const int64_t channels = std::max(st.classes_, 2);
    st.counts_.ensure({2 + 3 * (channels - 1)}, plain_md({2 + 3 * (channels - 1)}));
    const size_t prob_size = static_cast<size_t>(s[0] * channels * s[2] * s[3]);
    if (st.prob_.size() != prob_size) {
      wait_idle();
      st.prob_.assign(prob_size, 0.f);
    }
    enqueue(Job("loss", LossJob{&st, st.logits_cache_.get(logits, plain_md(s)), st.target_cache_.get(target, plain_md(t_shape)),
                                weights ? st.weights_cache_.get(weights, plain_md(t_shape)) : nullptr,
                                st.regression_ > 0 ? st.regression_cache_.get(regression, plain_md(r_shape)) : nullptr}));
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("value", st.value_.value(env));
    result.Set("dLogits", st.dlogits_.value(env));
    result.Set("counts", st.counts_.value(env));
    return result;
  }

 private:
  std::unique_ptr<LossState> s_;
};

void LossState::compute(const LossJob& job) {
  const auto& s = job.logits->shape;
  // Ct: the logits' channels, the K class logits then the regression channels.
  const int64_t N = s[0], K = classes_, Ct = K + regression_, plane = s[2] * s[3], pixels = N * plane;
  const int C = static_cast<int>(std::max<int64_t>(K, 2));
  const float* z = static_cast<const float*>(job.logits->mem.get_data_handle());
  const float* target = static_cast<const float*>(job.target->mem.get_data_handle());
  const float* pw = job.pixel_weights ? static_cast<const float*>(job.pixel_weights->mem.get_data_handle()) : nullptr;
  float* grad = static_cast<float*>(dlogits_.t->mem.get_data_handle());
  float* prob = prob_.data();
  const size_t terms = kinds_.size();
  const int64_t counted = counted_pixels(target, pixels);
  // Per pixel: probabilities, cross-entropy/focal values and gradients, Dice sums per class,
  // and the confusion counts at the default decision (p > 0.5 or argmax).
  const size_t count_base = terms + 3 * C;
  std::vector<double> sums(count_base + 2 + 3 * C, 0.0);
#pragma omp parallel
  {
    std::vector<double> local(sums.size(), 0.0);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < pixels; ++i) {
      const int64_t n = i / plane, j = i % plane;
      const int t = static_cast<int>(target[i]);
      if (t == kIgnore) {
        for (int k = 0; k < K; ++k) grad[(n * Ct + k) * plane + j] = 0;
        continue;
      }
      const double w = (pw ? pw[i] : 1.0) / static_cast<double>(counted);
      double p[64];
      double ce;
      if (K == 1) {
        const double zi = z[n * Ct * plane + j];
        p[1] = 1 / (1 + std::exp(-zi));
        p[0] = 1 - p[1];
        ce = softplus(t == 1 ? -zi : zi);
      } else {
        double max = -1e300, sum = 0;
        for (int k = 0; k < K; ++k) max = std::max(max, static_cast<double>(z[(n * Ct + k) * plane + j]));
        for (int k = 0; k < K; ++k) sum += (p[k] = std::exp(z[(n * Ct + k) * plane + j] - max));
        for (int k = 0; k < K; ++k) p[k] /= sum;
        ce = std::log(sum) + max - z[(n * Ct + t) * plane + j];
      }
      for (int c = 0; c < C; ++c) prob[(n * C + c) * plane + j] = static_cast<float>(p[c]);
      const double pt = p[t];
      double g[64] = {0};  // d loss / d logit_k for this pixel (sigmoid: index 0 only)
      for (size_t term = 0; term < terms; ++term) {
        if (kinds_[term] == kDice || kinds_[term] == kRegression) continue;
        const double lw = weights_[term] * w;
        if (kinds_[term] == kCrossEntropy) {
          local[term] += w * ce;
          if (K == 1) g[0] += lw * (p[1] - t);
          else for (int k = 0; k < K; ++k) g[k] += lw * (p[k] - (k == t));
        } else {
          const double q = 1 - pt, mod = std::pow(q, gamma_);
          local[term] += w * mod * ce;
          // d/dz of (1−pt)^γ·ce, written without 1/pt so it stays finite.
          const double d = -(gamma_ * std::pow(q, gamma_ - 1) * ce * pt + mod);
          // Sigmoid: d pt/dz = ±pt(1 − pt), so the 1/pt of d loss/d pt cancels.
          if (K == 1) g[0] += lw * (t == 1 ? 1.0 : -1.0) * d * q;
          else for (int k = 0; k < K; ++k) g[k] += lw * d * ((k == t) - p[k]);
        }
      }
      for (int k = 0; k < K; ++k) grad[(n * Ct + k) * plane + j] = static_cast<float>(g[k]);
      int predicted = 0;
      if (K == 1) predicted = p[1] > 0.5 ? 1 : 0;
      else for (int k = 1; k < K; ++k) if (p[k] > p[predicted]) predicted = k;
      local[count_base] += predicted == t;
      for (int c = 1; c < C; ++c) {
        local[terms + 3 * c] += p[c] * (t == c);
        local[terms + 3 * c + 1] += p[c];
        local[terms + 3 * c + 2] += (t == c);
        local[count_base + 2 + 3 * (c - 1)] += predicted == c && t == c;
        local[count_base + 3 + 3 * (c - 1)] += predicted == c && t != c;
        local[count_base + 4 + 3 * (c - 1)] += predicted != c && t == c;
      }
    }
#pragma omp critical
    for (size_t k = 0; k < local.size(); ++k) sums[k] += local[k];
  }
  const double squared_error = regression_ > 0 ? regression(job) : 0;
  float* value = static_cast<float*>(value_.t->mem.get_data_handle());
  double total = 0;
  std::vector<double> dice_scale(C, 0.0), dice_offset(C, 0.0);
  for (size_t term = 0; term < terms; ++term) {
    double loss = kinds_[term] == kRegression ? squared_error : sums[term];
    if (kinds_[term] == kDice) {
      loss = 0;
      for (int c = 1; c < C; ++c) {
        const double inter = sums[terms + 3 * c], den = sums[terms + 3 * c + 1] + sums[terms + 3 * c + 2] + smooth_;
        loss += (1 - (2 * inter + smooth_) / den) / (C - 1);
        // d(1 − dice)/dp_i = −(2 t_i · den − (2I + s)) / den²
        dice_scale[c] += weights_[term] * -2 / den / (C - 1);
        dice_offset[c] += weights_[term] * (2 * inter + smooth_) / (den * den) / (C - 1);
      }
    }
    value[1 + term] = static_cast<float>(loss);
    total += weights_[term] * loss;
  }
  value[0] = static_cast<float>(total);
  float* counts = static_cast<float*>(counts_.t->mem.get_data_handle());
  counts[0] = static_cast<float>(sums[count_base]);
  counts[1] = static_cast<float>(counted);
  for (int k = 2; k < 2 + 3 * (C - 1); ++k) counts[k] = static_cast<float>(sums[count_base + k]);
  bool any_dice = false;
  for (auto k : kinds_) any_dice |= k == kDice;
  if (!any_dice) return;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < pixels; ++i) {
    const int64_t n = i / plane, j = i % plane;
    const int t = static_cast<int>(target[i]);
    if (t == kIgnore) continue;
    if (K == 1) {
      const double p = prob[(n * 2 + 1) * plane + j];
      const double dp = dice_scale[1] * (t == 1) + dice_offset[1];
      grad[n * Ct * plane + j] += static_cast<float>(dp * p * (1 - p));
    } else {
      double dp[64], dot = 0;
      for (int c = 0; c < K; ++c) {
        dp[c] = c == 0 ? 0 : dice_scale[c] * (t == c) + dice_offset[c];
        dot += dp[c] * prob[(n * K + c) * plane + j];
      }
      for (int c = 0; c < K; ++c) {
        const double pc = prob[(n * K + c) * plane + j];
        grad[(n * Ct + c) * plane + j] += static_cast<float>(pc * (dp[c] - dot));
      }
    }
  }
}

// The regression channels: writes the weighted MSE gradient 2(z − y)/(N·R·plane) into their
// dLogits and returns the mean squared error (src/engine/loss-terms.ts).
double LossState::regression(const LossJob& job) {
  const auto& s = job.logits->shape;
  const int64_t N = s[0], K = classes_, R = regression_, Ct = K + R, plane = s[2] * s[3], count = N * R * plane;
  const float* z = static_cast<const float*>(job.logits->mem.get_data_handle());
  const float* y = static_cast<const float*>(job.regression_target->mem.get_data_handle());
  float* grad = static_cast<float*>(dlogits_.t->mem.get_data_handle());
  double weight = 0;
  for (size_t term = 0; term < kinds_.size(); ++term) weight += kinds_[term] == kRegression ? weights_[term] : 0;
  double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (int64_t i = 0; i < count; ++i) {
    const int64_t n = i / (R * plane), rest = i % (R * plane);
    const int64_t index = (n * Ct + K) * plane + rest;
    const double d = static_cast<double>(z[index]) - y[i];
    sum += d * d;
    grad[index] = static_cast<float>(weight * 2 * d / static_cast<double>(count));
  }
  return sum / static_cast<double>(count);
}

}  // namespace

PYO_EXPORT_KERNEL(Loss)

}  // namespace pyo
