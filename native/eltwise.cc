// Element-wise kernels: ReLU, the sum that accumulates skip gradients, and dropout.
#include "common.h"
#include "kernel.h"
#include "random.h"

namespace pyo {

using namespace dnnl;

// ---- ReLU ----
class Relu : public Napi::ObjectWrap<Relu> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Relu", {InstanceMethod<&Relu::Forward>("forward"), InstanceMethod<&Relu::Backward>("backward")});
  }
  PYO_CLASS(Relu)

 private:
  struct Entry {
    dims shape;
    md layout;
    eltwise_forward::primitive_desc fwd_pd;
    Exec fwd;
    Output y;
    bool backward_ready = false;
    eltwise_backward::primitive_desc bwd_pd;
    Exec bwd;
    LayoutCache dy_cache;
    Output dx;
    void release_js() { pyo::release_js(y, dx); }
  };
  void configure(const Napi::CallbackInfo&) {}

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr x = unwrap(info[0], "relu input");
      const md layout = x->mem.get_desc();
      Entry* e = cache_.find_or_make([&](const Entry& c) { return c.shape == x->shape && c.layout == layout; },
                                     [&] {
                                       auto n = std::make_unique<Entry>();
                                       n->shape = x->shape;
                                       n->layout = layout;
                                       n->fwd_pd = eltwise_forward::primitive_desc(
                                           eltwise_forward::desc(prop_kind::forward_training,
                                                                 algorithm::eltwise_relu_use_dst_for_bwd, layout, 0.f),
                                           scratch_attr(), cpu());
                                       n->y.ensure(x->shape, n->fwd_pd.dst_desc());
                                       n->y.t->plain = x->plain;
                                       n->fwd.init(eltwise_forward(n->fwd_pd), n->fwd_pd);
                                       n->fwd.label = "relu.fwd";
                                       return n;
                                     },
                                     last_);
      last_ = e;
      e->fwd.set(DNNL_ARG_SRC, x);
      e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
      e->fwd.enqueue();
      return e->y.value(info.Env());
    });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      Entry* e = need_last(last_, "relu");
      TensorPtr dy = unwrap(info[0], "relu output gradient");
      check_same_shape(dy, e->shape, "relu output gradient");
      if (!e->backward_ready) {
        e->bwd_pd = eltwise_backward::primitive_desc(
            eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, e->y.t->mem.get_desc(), e->y.t->mem.get_desc(), 0.f),
            scratch_attr(), cpu(), e->fwd_pd);
        e->bwd.init(eltwise_backward(e->bwd_pd), e->bwd_pd);
        e->bwd.label = "relu.bwd";
        e->dx.ensure(e->shape, e->bwd_pd.diff_src_desc());
        e->backward_ready = true;
      }
      e->bwd.set(DNNL_ARG_DST, e->y.t->mem);
      e->bwd.set(DNNL_ARG_DIFF_DST, e->dy_cache.get(dy, e->bwd_pd.diff_dst_desc()));
      e->bwd.set(DNNL_ARG_DIFF_SRC, e->dx.t->mem);
      e->bwd.enqueue();
      return e->dx.value(info.Env());
    });
  }

  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

class Add : public Napi::ObjectWrap<Add> {
 public:
  static Napi::Function Init(Napi::Env env) { return DefineClass(env, "Add", {InstanceMethod<&Add::Forward>("forward")}); }
  explicit Add(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Add>(info) {}
  ~Add() override = default;

 private:
  struct Entry {
    dims shape;
    md la, lb;
    Exec exec;
    Output y;
    void release_js() { pyo::release_js(y); }
  };

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr a = unwrap(info[0], "add first input"), b = unwrap(info[1], "add second input");
      if (a->shape != b->shape) throw std::runtime_error("add: shapes " + shape_text(a->shape) + " and " + shape_text(b->shape) + " differ");
      const md la = a->mem.get_desc(), lb = b->mem.get_desc();
      Entry* e = cache_.find_or_make([&](const Entry& c) { return c.shape == a->shape && c.la == la && c.lb == lb; },
                                     [&] {
                                       auto n = std::make_unique<Entry>();
                                       n->shape = a->shape;
                                       n->la = la;
                                       n->lb = lb;
                                       auto pd = sum::primitive_desc(la, {1.f, 1.f}, {la, lb}, cpu(), scratch_attr());
                                       n->y.ensure(a->shape, pd.dst_desc());
                                       n->exec.init(sum(pd), pd);
                                       n->exec.label = "add";
                                       return n;
                                     });
      e->exec.set(DNNL_ARG_MULTIPLE_SRC + 0, a);
      e->exec.set(DNNL_ARG_MULTIPLE_SRC + 1, b);
      e->exec.set(DNNL_ARG_DST, e->y.t->mem);
      e->exec.enqueue();
      return e->y.value(info.Env());
    });
  }

  EntryCache<Entry> cache_;
};

// Inverted dropout; element j (row-major logical index) is dropped when hash_uniform(seed, j) < rate.
// It works on plain fp32 copies: it sits at the bottleneck, where tensors are small, and a plain
// layout makes the logical index the memory index in both engines.
class Dropout : public Napi::ObjectWrap<Dropout> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Dropout", {InstanceMethod<&Dropout::Forward>("forward"), InstanceMethod<&Dropout::Backward>("backward")});
  }
  explicit Dropout(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Dropout>(info) {
    rate_ = number_option(info[0].As<Napi::Object>(), "rate", 0.5);
  }
  ~Dropout() override = default;

 private:
  struct Entry {
    dims shape;
    TensorPtr mask;
    Output y, dx;
    LayoutCache x_cache, dy_cache;
    void release_js() { pyo::release_js(y, dx); }
  };

  static float* data(const TensorPtr& t) { return static_cast<float*>(t->mem.get_data_handle()); }

  static void run_forward(Job& job) {
    auto* e = static_cast<Entry*>(job.self);
    const double rate = job.scalars[1];
    const uint32_t seed = to_uint32(job.scalars[0]);
    const float keep = static_cast<float>(1.0 / (1.0 - rate));
    const float* x = data(job.tensors[0]);
    float *mask = data(e->mask), *y = data(e->y.t);
    const int64_t n = e->mask->elements();
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      mask[j] = hash_uniform(seed, static_cast<uint32_t>(j)) < rate ? 0.f : keep;
      y[j] = x[j] * mask[j];
    }
  }

  static void run_backward(Job& job) {
    auto* e = static_cast<Entry*>(job.self);
    const float *dy = data(job.tensors[0]), *mask = data(e->mask);
    float* dx = data(e->dx.t);
    const int64_t n = e->mask->elements();
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * mask[j];
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr x = unwrap(info[0], "dropout input");
      Napi::Object o = info[1].As<Napi::Object>();
      if (!bool_option(o, "training", true) || rate_ <= 0) return info[0];
      Entry* e = cache_.find_or_make([&](const Entry& c) { return c.shape == x->shape; },
                                     [&] {
                                       auto n = std::make_unique<Entry>();
                                       n->shape = x->shape;
                                       n->mask = make_tensor(x->shape, plain_md(x->shape));
                                       n->y.ensure(x->shape, plain_md(x->shape));
                                       return n;
                                     },
                                     last_);
      last_ = e;
      Job job;
      job.run = run_forward;
      job.label = "dropout.fwd";
      job.self = e;
      job.tensors[0] = e->x_cache.get(x, plain_md(x->shape));
      job.scalars[0] = number_option(o, "seed", 0);
      job.scalars[1] = rate_;
      enqueue(std::move(job));
      return e->y.value(info.Env());
    });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      if (rate_ <= 0) return info[0];
      Entry* e = last_;
      if (!e) throw std::runtime_error("dropout backward called before a training forward");
      TensorPtr dy = unwrap(info[0], "dropout output gradient");
      if (dy->shape != e->shape) throw std::runtime_error("dropout backward: gradient " + shape_text(dy->shape) + " for " + shape_text(e->shape));
      e->dx.ensure(e->shape, plain_md(e->shape));
      Job job;
      job.run = run_backward;
      job.label = "dropout.bwd";
      job.self = e;
      job.tensors[0] = e->dy_cache.get(dy, plain_md(e->shape));
      enqueue(std::move(job));
      return e->dx.value(info.Env());
    });
  }

  double rate_;
  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

void InitEltwise(Napi::Env env, Napi::Object exports) {
  exports.Set("Relu", Relu::Init(env));
  exports.Set("Add", Add::Init(env));
  exports.Set("Dropout", Dropout::Init(env));
}

}  // namespace pyo
