// Adam/AdamW and SGD with momentum, element by element over buffers that share one layout.
#include <cmath>

#include "common.h"

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
}  // namespace

class Adam : public Napi::ObjectWrap<Adam> {
 public:
  static Napi::Function Init(Napi::Env env) { return DefineClass(env, "Adam", {InstanceMethod<&Adam::Update>("update")}); }
  explicit Adam(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Adam>(info) {
    Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
    beta1_ = number_option(o, "beta1", 0.9);
    beta2_ = number_option(o, "beta2", 0.999);
    epsilon_ = number_option(o, "epsilon", 1e-8);
    decay_ = number_option(o, "weightDecay", 0);
    decoupled_ = bool_option(o, "decoupled", false);
  }

 private:
  // Hyperparameters travel in the job, so a queued update never points into a freed kernel.
  static void run(Job& job) {
    float *p = data(job.tensors[0]), *g = data(job.tensors[1]), *m = data(job.tensors[2]), *v = data(job.tensors[3]);
    const double lr = job.scalars[0], step = job.scalars[1];
    const double b1 = job.scalars[2], b2 = job.scalars[3], eps = job.scalars[4], wd = job.scalars[5];
    const double step_size = lr / (1 - std::pow(b1, step));
    const double correction2_sqrt = std::sqrt(1 - std::pow(b2, step));
    const bool decoupled = job.scalars[6] != 0;
    const int64_t n = physical_size(job.tensors[0]);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      double grad = g[j];
      double param = p[j];
      if (wd != 0) {
        if (decoupled) param *= 1 - lr * wd;
        else grad += wd * param;
      }
      const double mj = b1 * m[j] + (1 - b1) * grad;
      const double vj = b2 * v[j] + (1 - b2) * grad * grad;
      m[j] = static_cast<float>(mj);
      v[j] = static_cast<float>(vj);
      p[j] = static_cast<float>(param - step_size * mj / (std::sqrt(vj) / correction2_sqrt + eps));
    }
  }

  Napi::Value Update(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr p = unwrap(info[0], "adam parameter"), g = unwrap(info[1], "adam gradient");
      TensorPtr m = unwrap(info[2], "adam first moment"), v = unwrap(info[3], "adam second moment");
      Napi::Object o = info[4].As<Napi::Object>();
      check_grad(g, p);
      align(m, p);
      align(v, p);
      Job job;
      job.run = run;
      job.label = "optimizer";
      job.tensors[0] = p;
      job.tensors[1] = g;
      job.tensors[2] = m;
      job.tensors[3] = v;
      job.scalars[0] = number_option(o, "learningRate", 1e-3);
      job.scalars[1] = number_option(o, "step", 1);
      job.scalars[2] = beta1_;
      job.scalars[3] = beta2_;
      job.scalars[4] = epsilon_;
      job.scalars[5] = decay_;
      job.scalars[6] = decoupled_ ? 1 : 0;
      enqueue(std::move(job));
      return info.Env().Undefined();
    });
  }

  double beta1_, beta2_, epsilon_, decay_;
  bool decoupled_;
};

class Sgd : public Napi::ObjectWrap<Sgd> {
 public:
  static Napi::Function Init(Napi::Env env) { return DefineClass(env, "Sgd", {InstanceMethod<&Sgd::Update>("update")}); }
  explicit Sgd(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sgd>(info) {
    Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
    momentum_ = number_option(o, "momentum", 0.9);
    nesterov_ = bool_option(o, "nesterov", false);
    decay_ = number_option(o, "weightDecay", 0);
  }

 private:
  static void run(Job& job) {
    float *p = data(job.tensors[0]), *g = data(job.tensors[1]), *vel = data(job.tensors[2]);
    const double lr = job.scalars[0], mu = job.scalars[1], wd = job.scalars[2];
    const bool nesterov = job.scalars[3] != 0;
    const int64_t n = physical_size(job.tensors[0]);
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      const double grad = g[j] + wd * p[j];
      const double v = mu * vel[j] + grad;
      vel[j] = static_cast<float>(v);
      p[j] = static_cast<float>(p[j] - lr * (nesterov ? grad + mu * v : v));
    }
  }

  Napi::Value Update(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr p = unwrap(info[0], "sgd parameter"), g = unwrap(info[1], "sgd gradient"), v = unwrap(info[2], "sgd velocity");
      check_grad(g, p);
      align(v, p);
      Job job;
      job.run = run;
      job.label = "optimizer";
      job.tensors[0] = p;
      job.tensors[1] = g;
      job.tensors[2] = v;
      job.scalars[0] = number_option(info[3].As<Napi::Object>(), "learningRate", 1e-2);
      job.scalars[1] = momentum_;
      job.scalars[2] = decay_;
      job.scalars[3] = nesterov_ ? 1 : 0;
      enqueue(std::move(job));
      return info.Env().Undefined();
    });
  }

  double momentum_, decay_;
  bool nesterov_;
};

void InitOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("Adam", Adam::Init(env));
  exports.Set("Sgd", Sgd::Init(env));
}

}  // namespace pyo
