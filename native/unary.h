// The shape of a kernel that is one oneDNN primitive with one input and one output (ReLU,
// max-pooling): an entry per input shape, layout and mode, its forward pass, and a backward
// pass built on first use. Derived provides `forward_pd(x_layout, training)` and
// `backward_pd(entry)`, and starts with PYO_KERNEL.
#pragma once
#include "common.h"
#include "kernel.h"

namespace pyo {

template <typename ForwardPrimitive, typename BackwardPrimitive>
struct UnaryEntry {
  dims x_shape;
  md x_layout;
  bool training;
  typename ForwardPrimitive::primitive_desc fwd_pd;
  Exec fwd;
  Output y;
  TensorPtr workspace;  // what a training forward leaves for backward, when the primitive has one
  BackwardPass<typename BackwardPrimitive::primitive_desc> back;
  void release_js() { pyo::release_js(y, back.dx); }
};

template <typename Derived, typename ForwardPrimitive, typename BackwardPrimitive>
class UnaryKernel : public CachingKernel<Derived, UnaryEntry<ForwardPrimitive, BackwardPrimitive>> {
 public:
  using Entry = UnaryEntry<ForwardPrimitive, BackwardPrimitive>;
  using KernelBase = UnaryKernel;
  using CachingKernel<Derived, Entry>::CachingKernel;

 protected:
  // Queues the forward pass on `x` and returns its output; a training pass is the one backward uses.
  Napi::Value run_forward(const Napi::CallbackInfo& info, const TensorPtr& x, bool training, const char* label) {
    const md layout = x->mem.get_desc();
    Entry* e = this->entry(
        [&](const Entry& c) { return c.x_shape == x->shape && c.x_layout == layout && c.training == training; },
        [&] {
          auto n = std::make_unique<Entry>();
          n->x_shape = x->shape;
          n->x_layout = layout;
          n->training = training;
          n->fwd_pd = static_cast<Derived*>(this)->forward_pd(layout, training);
          const md y_layout = n->fwd_pd.dst_desc();
          n->y.ensure(y_layout.dims(), y_layout);
          if (y_layout.dims() == x->shape) n->y.t->plain = x->plain;
          n->fwd.init(ForwardPrimitive(n->fwd_pd), n->fwd_pd, label);
          const md workspace = n->fwd_pd.workspace_desc();
          if (training && workspace.get_size() > 0) {
            n->workspace = make_tensor({1}, workspace);
            n->fwd.args[DNNL_ARG_WORKSPACE] = n->workspace->mem;
          }
          return n;
        },
        training);
    e->fwd.set(DNNL_ARG_SRC, x);
    e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
    e->fwd.enqueue();
    return e->y.value(info.Env());
  }

  // Queues the backward pass of the last training forward for the output gradient info[0].
  Napi::Value run_backward(const Napi::CallbackInfo& info, const char* label) {
    auto [e, dy] = this->gradient_of_last(info);
    auto& back = e->back;
    if (!back.ready) {
      back.pd = static_cast<Derived*>(this)->backward_pd(*e);
      back.exec.init(BackwardPrimitive(back.pd), back.pd, label);
      if (e->workspace) back.exec.args[DNNL_ARG_WORKSPACE] = e->workspace->mem;
      if (back.pd.dst_desc().get_size() > 0) back.exec.args[DNNL_ARG_DST] = e->y.t->mem;  // ReLU's backward reads y
      back.dx.ensure(e->x_shape, back.pd.diff_src_desc());
      back.ready = true;
    }
    back.exec.set(DNNL_ARG_DIFF_DST, back.dy_cache.get(dy, back.pd.diff_dst_desc()));
    back.exec.set(DNNL_ARG_DIFF_SRC, back.dx.t->mem);
    back.exec.enqueue();
    return back.dx.value(info.Env());
  }
};

}  // namespace pyo
