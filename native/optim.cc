// Adam/AdamW and SGD with momentum: hand-written OpenMP loops, element by element over a
// parameter, its gradient and its state, which share one layout (oneDNN has no optimizer
// primitives). The formulas are PyTorch's, documented in src/engine/reference/optim.ts.
#include <cmath>

#include "common.h"
#include "kernel.h"

namespace pyo {

namespace {
// Moments created before a weight moved to its kernel's layout follow it there.
void align(const TensorPtr& state, const TensorPtr& param) {
  if (state->mem.get_desc() != param->mem.get_desc()) relayout(*state, param->mem.get_desc(), param->plain);
}

void check_grad(const TensorPtr& grad, const TensorPtr& param) {
  if (grad->shape != param->shape) throw std::runtime_error("optimizer: gradient " + shape_text(grad->shape) + " for parameter " + shape_text(param->shape));
  if (grad->mem.get_desc() != param->mem.get_desc()) {
    throw std::runtime_error("optimizer: gradient layout " + describe(grad->mem.get_desc()) + " differs from parameter layout " + describe(param->mem.get_desc()));
  }
}

float* data(const TensorPtr& t) { return static_cast<float*>(t->mem.get_data_handle()); }
int64_t physical_size(const TensorPtr& t) { return static_cast<int64_t>(t->mem.get_desc().get_size() / sizeof(float)); }

// ---- Adam / AdamW ----
struct AdamOptions {
  double beta1, beta2, epsilon, weight_decay;
  bool decoupled;
  template <typename F>
  void fields(F f) {
    f("beta1", beta1);
    f("beta2", beta2);
    f("epsilon", epsilon);
    f("weightDecay", weight_decay);
    f("decoupled", decoupled);
  }
};

struct AdamCall {
  double learning_rate, step;
  template <typename F>
  void fields(F f) { f("learningRate", learning_rate); f("step", step); }
};

// One update. The hyperparameters travel in the job, so a queued update never points into a freed kernel.
struct AdamStep {
  TensorPtr param, grad, m, v;
  AdamCall call;
  AdamOptions options;
  void operator()() const {
    float *p = data(param), *g = data(grad), *mp = data(m), *vp = data(v);
    const double lr = call.learning_rate, b1 = options.beta1, b2 = options.beta2, eps = options.epsilon, wd = options.weight_decay;
    const double step_size = lr / (1 - std::pow(b1, call.step));
    const double correction2_sqrt = std::sqrt(1 - std::pow(b2, call.step));
    const bool decoupled = options.decoupled;
    const int64_t n = physical_size(param);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      double gj = g[j];
      double pj = p[j];
      if (wd != 0) {
        if (decoupled) pj *= 1 - lr * wd;
        else gj += wd * pj;
      }
      const double mj = b1 * mp[j] + (1 - b1) * gj;
      const double vj = b2 * vp[j] + (1 - b2) * gj * gj;
      mp[j] = static_cast<float>(mj);
      vp[j] = static_cast<float>(vj);
      p[j] = static_cast<float>(pj - step_size * mj / (std::sqrt(vj) / correction2_sqrt + eps));
    }
  }
};

class Adam : public Kernel<Adam, AdamOptions> {
  PYO_KERNEL(Adam)

  Napi::Value Update(const Napi::CallbackInfo& info) {
    TensorPtr p = unwrap(info[0], "adam parameter"), g = unwrap(info[1], "adam gradient");
    TensorPtr m = unwrap(info[2], "adam first moment"), v = unwrap(info[3], "adam second moment");
    const auto call = read_options<AdamCall>(info[4], "adam update");
    check_grad(g, p);
    align(m, p);
    align(v, p);
    enqueue(Job("optimizer", AdamStep{p, g, m, v, call, options_}));
    return info.Env().Undefined();
  }
};

// ---- SGD with momentum ----
struct SgdOptions {
  double momentum;
  bool nesterov;
  double weight_decay;
  template <typename F>
  void fields(F f) { f("momentum", momentum); f("nesterov", nesterov); f("weightDecay", weight_decay); }
};

struct SgdCall {
  double learning_rate;
  template <typename F>
  void fields(F f) { f("learningRate", learning_rate); }
};

struct SgdStep {
  TensorPtr param, grad, velocity;
  SgdCall call;
  SgdOptions options;
  void operator()() const {
    float *p = data(param), *g = data(grad), *vel = data(velocity);
    const double lr = call.learning_rate, mu = options.momentum, wd = options.weight_decay;
    const bool nesterov = options.nesterov;
    const int64_t n = physical_size(param);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      const double gj = g[j] + wd * p[j];
      const double v = mu * vel[j] + gj;
      vel[j] = static_cast<float>(v);
      p[j] = static_cast<float>(p[j] - lr * (nesterov ? gj + mu * v : v));
    }
  }
};

class Sgd : public Kernel<Sgd, SgdOptions> {
  PYO_KERNEL(Sgd)

  Napi::Value Update(const Napi::CallbackInfo& info) {
    TensorPtr p = unwrap(info[0], "sgd parameter"), g = unwrap(info[1], "sgd gradient"), v = unwrap(info[2], "sgd velocity");
    const auto call = read_options<SgdCall>(info[3], "sgd update");
    check_grad(g, p);
    align(v, p);
    enqueue(Job("optimizer", SgdStep{p, g, v, call, options_}));
    return info.Env().Undefined();
  }
};

}  // namespace

PYO_EXPORT_KERNEL(Adam)
PYO_EXPORT_KERNEL(Sgd)

}  // namespace pyo
