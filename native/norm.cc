// Batch normalisation over (N, H, W), optionally fused with ReLU; PyTorch's running statistics.
#include "common.h"
#include "kernel.h"

namespace pyo {

using namespace dnnl;

// ---- batch normalisation (+ fused ReLU) ----
class BatchNorm2d : public Napi::ObjectWrap<BatchNorm2d> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "BatchNorm2d", {InstanceMethod<&BatchNorm2d::Forward>("forward"), InstanceMethod<&BatchNorm2d::Backward>("backward")});
  }
  PYO_CLASS(BatchNorm2d)

 private:
  struct Entry {
    dims x_shape;
    md x_layout;
    bool training;
    batch_normalization_forward::primitive_desc fwd_pd;
    Exec fwd;
    Output y;
    TensorPtr mean, variance, workspace, x, gamma, beta, running_mean, running_var;
    bool backward_ready = false;
    batch_normalization_backward::primitive_desc bwd_pd;
    Exec bwd;
    LayoutCache dy_cache;
    Output dx, dgamma, dbeta;
    void release_js() { pyo::release_js(y, dx, dgamma, dbeta); }
  };
  void configure(const Napi::CallbackInfo& info) {
    Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
    epsilon_ = static_cast<float>(number_option(o, "epsilon", 1e-5));
    momentum_ = number_option(o, "momentum", 0.1);
    relu_ = bool_option(o, "relu", false);
  }

  normalization_flags flags(bool training) const {
    auto f = normalization_flags::use_scale | normalization_flags::use_shift;
    if (relu_) f = f | normalization_flags::fuse_norm_relu;
    if (!training) f = f | normalization_flags::use_global_stats;
    return f;
  }

  // running = (1 − m)·running + m·batch, with the unbiased batch variance (PyTorch's rule).
  static void update_running(Job& job) {
    const double count = job.scalars[0];
    const double m = job.scalars[1];
    const float* mean = static_cast<const float*>(job.tensors[0]->mem.get_data_handle());
    const float* var = static_cast<const float*>(job.tensors[1]->mem.get_data_handle());
    float* rm = static_cast<float*>(job.tensors[2]->mem.get_data_handle());
    float* rv = static_cast<float*>(job.tensors[3]->mem.get_data_handle());
    const int64_t c = job.tensors[0]->elements();
    const double unbias = count > 1 ? count / (count - 1) : 1.0;
    for (int64_t i = 0; i < c; ++i) {
      rm[i] = static_cast<float>((1 - m) * rm[i] + m * mean[i]);
      rv[i] = static_cast<float>((1 - m) * rv[i] + m * var[i] * unbias);
    }
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr x = unwrap(info[0], "batchNorm2d input");
      Napi::Object p = info[1].As<Napi::Object>();
      TensorPtr gamma = unwrap(p.Get("gamma"), "batchNorm2d gamma"), beta = unwrap(p.Get("beta"), "batchNorm2d beta");
      TensorPtr rm = unwrap(p.Get("runningMean"), "batchNorm2d runningMean"), rv = unwrap(p.Get("runningVar"), "batchNorm2d runningVar");
      const bool training = bool_option(info[2].As<Napi::Object>(), "training", true);
      if (x->shape.size() != 4) throw std::runtime_error("batchNorm2d needs [N, C, H, W], got " + shape_text(x->shape));
      const dims c_shape{x->shape[1]};
      for (auto* t : {&gamma, &beta, &rm, &rv}) check_same_shape(*t, c_shape, "batchNorm2d parameter");
      const md layout = x->mem.get_desc();
      Entry* e = cache_.find_or_make(
          [&](const Entry& c) { return c.x_shape == x->shape && c.x_layout == layout && c.training == training; },
          [&] {
            auto n = std::make_unique<Entry>();
            n->x_shape = x->shape;
            n->x_layout = layout;
            n->training = training;
            n->fwd_pd = batch_normalization_forward::primitive_desc(
                batch_normalization_forward::desc(training ? prop_kind::forward_training : prop_kind::forward_inference,
                                                  layout, epsilon_, flags(training)),
                scratch_attr(), cpu());
            n->y.ensure(x->shape, n->fwd_pd.dst_desc());
            n->fwd.init(batch_normalization_forward(n->fwd_pd), n->fwd_pd);
            n->fwd.label = "batchnorm.fwd";
            if (training) {
              n->mean = make_tensor(c_shape, n->fwd_pd.mean_desc());
              n->variance = make_tensor(c_shape, n->fwd_pd.variance_desc());
              n->fwd.args[DNNL_ARG_MEAN] = n->mean->mem;
              n->fwd.args[DNNL_ARG_VARIANCE] = n->variance->mem;
              if (relu_) {
                n->workspace = make_tensor({1}, n->fwd_pd.workspace_desc());
                n->fwd.args[DNNL_ARG_WORKSPACE] = n->workspace->mem;
              }
            }
            return n;
          },
          last_);
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
        last_ = e;
        e->x = x;
        e->gamma = gamma;
        e->beta = beta;
        Job job;
        job.run = update_running;
        job.label = "batchnorm.running";
        job.tensors[0] = e->mean;
        job.tensors[1] = e->variance;
        job.tensors[2] = rm;
        job.tensors[3] = rv;
        job.scalars[0] = static_cast<double>(x->shape[0] * x->shape[2] * x->shape[3]);
        job.scalars[1] = momentum_;
        enqueue(std::move(job));
      }
      return e->y.value(info.Env());
    });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      Entry* e = need_last(last_, "batchNorm2d");
      TensorPtr dy = unwrap(info[0], "batchNorm2d output gradient");
      check_same_shape(dy, e->x_shape, "batchNorm2d output gradient");
      const dims c_shape{e->x_shape[1]};
      if (!e->backward_ready) {
        e->bwd_pd = batch_normalization_backward::primitive_desc(
            batch_normalization_backward::desc(prop_kind::backward, e->y.t->mem.get_desc(), e->x_layout, epsilon_, flags(true)),
            scratch_attr(), cpu(), e->fwd_pd);
        e->bwd.init(batch_normalization_backward(e->bwd_pd), e->bwd_pd);
        e->bwd.label = "batchnorm.bwd";
        e->bwd.args[DNNL_ARG_MEAN] = e->mean->mem;
        e->bwd.args[DNNL_ARG_VARIANCE] = e->variance->mem;
        if (relu_) e->bwd.args[DNNL_ARG_WORKSPACE] = e->workspace->mem;
        e->dx.ensure(e->x_shape, e->bwd_pd.diff_src_desc());
        e->dgamma.ensure(c_shape, md(c_shape, dt::f32, tag::a));
        e->dbeta.ensure(c_shape, md(c_shape, dt::f32, tag::a));
        e->backward_ready = true;
      }
      e->bwd.set(DNNL_ARG_SRC, e->x->mem);
      e->bwd.set(DNNL_ARG_DIFF_DST, e->dy_cache.get(dy, e->bwd_pd.diff_dst_desc()));
      e->bwd.set(DNNL_ARG_SCALE, e->gamma->mem);
      e->bwd.set(DNNL_ARG_SHIFT, e->beta->mem);
      e->bwd.set(DNNL_ARG_DIFF_SRC, e->dx.t->mem);
      e->bwd.set(DNNL_ARG_DIFF_SCALE, e->dgamma.t->mem);
      e->bwd.set(DNNL_ARG_DIFF_SHIFT, e->dbeta.t->mem);
      e->bwd.enqueue();
      Napi::Env env = info.Env();
      Napi::Object result = Napi::Object::New(env);
      result.Set("dx", e->dx.value(env));
      result.Set("dGamma", e->dgamma.value(env));
      result.Set("dBeta", e->dbeta.value(env));
      return result;
    });
  }

  float epsilon_;
  double momentum_;
  bool relu_;
  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

void InitNorm(Napi::Env env, Napi::Object exports) { exports.Set("BatchNorm2d", BatchNorm2d::Init(env)); }

}  // namespace pyo
