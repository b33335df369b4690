// Batch normalisation over (N, H, W), optionally fused with ReLU; PyTorch's running statistics.
#include "common.h"
#include "kernel.h"

namespace pyo {

using namespace dnnl;

namespace {

struct BatchNormOptions {
  float epsilon;
  double momentum;
  bool relu;
  template <typename F>
  void fields(F f) { f("epsilon", epsilon); f("momentum", momentum); f("relu", relu); }
};

struct BatchNormEntry {
  dims x_shape;
  md x_layout;
  bool training;
  batch_normalization_forward::primitive_desc fwd_pd;
  Exec fwd;
  Output y;
  TensorPtr mean, variance, workspace, x, gamma, beta;
  BackwardPass<batch_normalization_backward::primitive_desc> back;
  Output dgamma, dbeta;
  void release_js() { pyo::release_js(y, back.dx, dgamma, dbeta); }
};

// running = (1 − m)·running + m·batch, with the unbiased batch variance (PyTorch's rule).
struct UpdateRunning {
  TensorPtr mean, variance, running_mean, running_var;
  double count, momentum;
  void operator()() const {
    const float* batch_mean = static_cast<const float*>(mean->mem.get_data_handle());
    const float* batch_var = static_cast<const float*>(variance->mem.get_data_handle());
    float* rm = static_cast<float*>(running_mean->mem.get_data_handle());
    float* rv = static_cast<float*>(running_var->mem.get_data_handle());
    const double m = momentum;
    const double unbias = count > 1 ? count / (count - 1) : 1.0;
    for (int64_t i = 0, c = mean->elements(); i < c; ++i) {
      rm[i] = static_cast<float>((1 - m) * rm[i] + m * batch_mean[i]);
      rv[i] = static_cast<float>((1 - m) * rv[i] + m * batch_var[i] * unbias);
    }
  }
};

class BatchNorm2d : public CachingKernel<BatchNorm2d, BatchNormEntry, BatchNormOptions> {
  PYO_KERNEL(BatchNorm2d)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    TensorPtr x = unwrap(info[0], "batchNorm2d input");
    Napi::Object p = info[1].As<Napi::Object>();
    TensorPtr gamma = unwrap(p.Get("gamma"), "batchNorm2d gamma"), beta = unwrap(p.Get("beta"), "batchNorm2d beta");
    TensorPtr rm = unwrap(p.Get("runningMean"), "batchNorm2d runningMean"), rv = unwrap(p.Get("runningVar"), "batchNorm2d runningVar");
    const bool training = read_options<ForwardMode>(info[2], "batchNorm2d forward").training;
    if (x->shape.size() != 4) throw std::runtime_error("batchNorm2d needs [N, C, H, W], got " + shape_text(x->shape));
    for (auto* t : {&gamma, &beta, &rm, &rv}) check_same_shape(*t, {x->shape[1]}, "batchNorm2d parameter");
    const md layout = x->mem.get_desc();
    BatchNormEntry* e = entry(
        [&](const BatchNormEntry& c) { return c.x_shape == x->shape && c.x_layout == layout && c.training == training; },
        [&] { return make_entry(x, training); }, training);
    e->fwd.set(DNNL_ARG_SRC, x);
    e->fwd.set(DNNL_ARG_SCALE, gamma);
    e->fwd.set(DNNL_ARG_SHIFT, beta);
    e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
    if (!training) {
      e->fwd.set(DNNL_ARG_MEAN, rm);
      e->fwd.set(DNNL_ARG_VARIANCE, rv);
    }
    e->fwd.enqueue();
    if (training) {
      e->x = x;
      e->gamma = gamma;
      e->beta = beta;
      const double count = static_cast<double>(x->shape[0] * x->shape[2] * x->shape[3]);
      enqueue(Job("batchnorm.running", UpdateRunning{e->mean, e->variance, rm, rv, count, options_.momentum}));
    }
    return e->y.value(info.Env());
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto [e, dy] = gradient_of_last(info);
    auto& back = e->back;
    if (!back.ready) build_backward(*e);
    back.exec.set(DNNL_ARG_SRC, e->x->mem);
    back.exec.set(DNNL_ARG_DIFF_DST, back.dy_cache.get(dy, back.pd.diff_dst_desc()));
    back.exec.set(DNNL_ARG_SCALE, e->gamma->mem);
    back.exec.set(DNNL_ARG_SHIFT, e->beta->mem);
    back.exec.set(DNNL_ARG_DIFF_SRC, back.dx.t->mem);
    back.exec.set(DNNL_ARG_DIFF_SCALE, e->dgamma.t->mem);
    back.exec.set(DNNL_ARG_DIFF_SHIFT, e->dbeta.t->mem);
    back.exec.enqueue();
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("dx", back.dx.value(env));
    result.Set("dGamma", e->dgamma.value(env));
    result.Set("dBeta", e->dbeta.value(env));
    return result;
  }

 private:
  normalization_flags flags(bool training) const {
    auto f = normalization_flags::use_scale | normalization_flags::use_shift;
    if (options_.relu) f = f | normalization_flags::fuse_norm_relu;
    if (!training) f = f | normalization_flags::use_global_stats;
    return f;
  }

  std::unique_ptr<BatchNormEntry> make_entry(const TensorPtr& x, bool training) const {
    auto n = std::make_unique<BatchNormEntry>();
    const md layout = x->mem.get_desc();
    const dims c_shape{x->shape[1]};
    n->x_shape = x->shape;
    n->x_layout = layout;
    n->training = training;
    n->fwd_pd = batch_normalization_forward::primitive_desc(
        batch_normalization_forward::desc(training ? prop_kind::forward_training : prop_kind::forward_inference, layout,
                                          options_.epsilon, flags(training)),
        scratch_attr(), cpu());
    n->y.ensure(x->shape, n->fwd_pd.dst_desc());
    n->fwd.init(batch_normalization_forward(n->fwd_pd), n->fwd_pd, "batchnorm.fwd");
    if (training) {
      n->mean = make_tensor(c_shape, n->fwd_pd.mean_desc());
      n->variance = make_tensor(c_shape, n->fwd_pd.variance_desc());
      n->fwd.args[DNNL_ARG_MEAN] = n->mean->mem;
      n->fwd.args[DNNL_ARG_VARIANCE] = n->variance->mem;
      if (options_.relu) {
        n->workspace = make_tensor({1}, n->fwd_pd.workspace_desc());
        n->fwd.args[DNNL_ARG_WORKSPACE] = n->workspace->mem;
      }
    }
    return n;
  }

  void build_backward(BatchNormEntry& e) const {
    const dims c_shape{e.x_shape[1]};
    auto& back = e.back;
    back.pd = batch_normalization_backward::primitive_desc(
        batch_normalization_backward::desc(prop_kind::backward, e.y.t->mem.get_desc(), e.x_layout, options_.epsilon, flags(true)),
        scratch_attr(), cpu(), e.fwd_pd);
    back.exec.init(batch_normalization_backward(back.pd), back.pd, "batchnorm.bwd");
    back.exec.args[DNNL_ARG_MEAN] = e.mean->mem;
    back.exec.args[DNNL_ARG_VARIANCE] = e.variance->mem;
    if (options_.relu) back.exec.args[DNNL_ARG_WORKSPACE] = e.workspace->mem;
    back.dx.ensure(e.x_shape, back.pd.diff_src_desc());
    e.dgamma.ensure(c_shape, md(c_shape, dt::f32, tag::a));
    e.dbeta.ensure(c_shape, md(c_shape, dt::f32, tag::a));
    back.ready = true;
  }
};

}  // namespace

PYO_EXPORT_KERNEL(BatchNorm2d)

}  // namespace pyo
