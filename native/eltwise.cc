// Element-wise kernels: ReLU, the sum that accumulates skip gradients, and dropout.
#include "common.h"
#include "kernel.h"
#include "random.h"
#include "unary.h"

namespace pyo {

using namespace dnnl;

namespace {

float* data(const TensorPtr& t) { return static_cast<float*>(t->mem.get_data_handle()); }

// ---- ReLU ----
class Relu : public UnaryKernel<Relu, eltwise_forward, eltwise_backward> {
  PYO_KERNEL(Relu)

  Napi::Value Forward(const Napi::CallbackInfo& info) { return run_forward(info, unwrap(info[0], "relu input"), true, "relu.fwd"); }
  Napi::Value Backward(const Napi::CallbackInfo& info) { return run_backward(info, "relu.bwd"); }

  eltwise_forward::primitive_desc forward_pd(const md& x_layout, bool) const {
    return eltwise_forward::primitive_desc(
        eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, x_layout, 0.f), scratch_attr(), cpu());
  }

  eltwise_backward::primitive_desc backward_pd(const Entry& e) const {
    const md y_layout = e.y.t->mem.get_desc();
    return eltwise_backward::primitive_desc(
        eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, y_layout, y_layout, 0.f), scratch_attr(), cpu(), e.fwd_pd);
  }
};

// ---- element-wise sum ----
struct AddEntry {
  dims shape;
  md la, lb;
  Exec exec;
  Output y;
  void release_js() { pyo::release_js(y); }
};

class Add : public CachingKernel<Add, AddEntry> {
  PYO_KERNEL(Add)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    TensorPtr a = unwrap(info[0], "add first input"), b = unwrap(info[1], "add second input");
    if (a->shape != b->shape) throw std::runtime_error("add: shapes " + shape_text(a->shape) + " and " + shape_text(b->shape) + " differ");
    const md la = a->mem.get_desc(), lb = b->mem.get_desc();
    AddEntry* e = entry([&](const AddEntry& c) { return c.shape == a->shape && c.la == la && c.lb == lb; },
                        [&] {
                          auto n = std::make_unique<AddEntry>();
                          n->shape = a->shape;
                          n->la = la;
                          n->lb = lb;
                          auto pd = sum::primitive_desc(la, {1.f, 1.f}, {la, lb}, cpu(), scratch_attr());
                          n->y.ensure(a->shape, pd.dst_desc());
                          n->exec.init(sum(pd), pd, "add");
                          return n;
                        },
                        false);
    e->exec.set(DNNL_ARG_MULTIPLE_SRC + 0, a);
    e->exec.set(DNNL_ARG_MULTIPLE_SRC + 1, b);
    e->exec.set(DNNL_ARG_DST, e->y.t->mem);
    e->exec.enqueue();
    return e->y.value(info.Env());
  }
};

// ---- dropout ----
struct DropoutOptions {
  double rate;
  template <typename F>
  void fields(F f) { f("rate", rate); }
};

struct DropoutCall {
  bool training;
  double seed;
  template <typename F>
  void fields(F f) { f("training", training); f("seed", seed); }
};

struct DropoutEntry {
  dims shape;
  TensorPtr mask;
  Output y, dx;
  LayoutCache x_cache, dy_cache;
  void release_js() { pyo::release_js(y, dx); }
};

// mask = 0 where hash_uniform(seed, j) < rate, else 1 / (1 − rate); y = x · mask.
struct DropoutForward {
  DropoutEntry* entry;
  TensorPtr x;
  uint32_t seed;
  double rate;
  void operator()() const {
    const float keep = static_cast<float>(1.0 / (1.0 - rate));
    const float* in = data(x);
    float *mask = data(entry->mask), *y = data(entry->y.t);
    const int64_t n = entry->mask->elements();
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      mask[j] = hash_uniform(seed, static_cast<uint32_t>(j)) < rate ? 0.f : keep;
      y[j] = in[j] * mask[j];
    }
  }
};

struct DropoutBackward {
  DropoutEntry* entry;
  TensorPtr dy;
  void operator()() const {
    const float *g = data(dy), *mask = data(entry->mask);
    float* dx = data(entry->dx.t);
    const int64_t n = entry->mask->elements();
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) dx[j] = g[j] * mask[j];
  }
};

// Inverted dropout; element j (row-major logical index) is dropped when hash_uniform(seed, j) < rate.
// It works on plain fp32 copies: it sits at the bottleneck, where tensors are small, and a plain
// layout makes the logical index the memory index in both engines.
class Dropout : public CachingKernel<Dropout, DropoutEntry, DropoutOptions> {
  PYO_KERNEL(Dropout)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    TensorPtr x = unwrap(info[0], "dropout input");
    const auto call = read_options<DropoutCall>(info[1], "dropout forward");
    if (!call.training || options_.rate <= 0) return info[0];
    DropoutEntry* e = entry([&](const DropoutEntry& c) { return c.shape == x->shape; },
                            [&] {
                              auto n = std::make_unique<DropoutEntry>();
                              n->shape = x->shape;
                              n->mask = make_tensor(x->shape, plain_md(x->shape));
                              n->y.ensure(x->shape, plain_md(x->shape));
                              return n;
                            });
    TensorPtr plain = e->x_cache.get(x, plain_md(x->shape));
    enqueue(Job("dropout.fwd", DropoutForward{e, plain, to_uint32(call.seed), options_.rate}));
    return e->y.value(info.Env());
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    if (options_.rate <= 0) return info[0];
    auto [e, dy] = gradient_of_last(info);
    e->dx.ensure(e->shape, plain_md(e->shape));
    enqueue(Job("dropout.bwd", DropoutBackward{e, e->dy_cache.get(dy, plain_md(e->shape))}));
    return e->dx.value(info.Env());
  }
};

}  // namespace

PYO_EXPORT_KERNEL(Relu)
PYO_EXPORT_KERNEL(Add)
PYO_EXPORT_KERNEL(Dropout)

}  // namespace pyo
