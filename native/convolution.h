// What the convolution and the transposed convolution share: their inputs, the state they keep
// per input shape, their forward call, and their backward passes: the input gradient, and the
// weight gradient delivered in the weight's own layout so the optimizer can update the two element
// by element (backward primitives that prefer another layout get a reorder).
#pragma once
#include "common.h"

namespace pyo {

// Weight-gradient output in the weights' own layout, with a reorder when backward prefers another.
struct WeightGrad {
  Output grad;
  TensorPtr raw;
  Exec reorder;
  memory target(const md& preferred, const TensorPtr& weights) {
    grad.ensure(weights->shape, weights->mem.get_desc());
    grad.t->plain = weights->plain;
    if (preferred == weights->mem.get_desc()) return grad.t->mem;
    if (!raw || raw->mem.get_desc() != preferred) {
      raw = make_tensor(weights->shape, preferred);
      const auto pd = dnnl::reorder::primitive_desc(raw->mem, grad.t->mem, scratch_attr());
      reorder.init(dnnl::reorder(pd), pd, "reorder");
      reorder.args = {{DNNL_ARG_FROM, raw->mem}, {DNNL_ARG_TO, grad.t->mem}};
    }
    return raw->mem;
  }
  void finish(const md& preferred, const TensorPtr& weights) {
    if (preferred != weights->mem.get_desc()) {
      reorder.set(DNNL_ARG_TO, grad.t->mem);
      reorder.enqueue();
    }
  }
};

// Backward-data and backward-weights primitives (convolution_backward_* or deconvolution_backward_*)
// with the layout conversions and outputs they need; built by the kernel on first use.
template <typename DataPrimitive, typename WeightsPrimitive>
struct ConvBackward {
  typename DataPrimitive::primitive_desc data_pd;
  Exec data;
  LayoutCache g_data_cache, w_data_cache;
  Output dx;
  typename WeightsPrimitive::primitive_desc weights_pd;
  Exec weights;
  LayoutCache g_weights_cache, x_weights_cache;
  WeightGrad dw;

  void init(const typename DataPrimitive::primitive_desc& data_desc, const typename WeightsPrimitive::primitive_desc& weights_desc,
            const char* data_label, const char* weights_label, double flops) {
    data_pd = data_desc;
    data.init(DataPrimitive(data_pd), data_pd, data_label, flops);
    weights_pd = weights_desc;
    weights.init(WeightsPrimitive(weights_pd), weights_pd, weights_label, flops);
  }

  // Queues dx for the output gradient `g`; returns it.
  Output& input_grad(const TensorPtr& g, const TensorPtr& w, const dims& x_shape) {
    dx.ensure(x_shape, data_pd.diff_src_desc());
    data.set(DNNL_ARG_DIFF_DST, g_data_cache.get(g, data_pd.diff_dst_desc()));
    data.set(DNNL_ARG_WEIGHTS, w_data_cache.get(w, data_pd.weights_desc()));
    data.set(DNNL_ARG_DIFF_SRC, dx.t->mem);
    data.enqueue();
    return dx;
  }

  // Queues dW (and, when `db` is given, the bias gradient the primitive computes with it).
  Output& weight_grad(const TensorPtr& g, const TensorPtr& x, const TensorPtr& w, Output* db = nullptr) {
    const md preferred = weights_pd.diff_weights_desc();
    weights.set(DNNL_ARG_SRC, x_weights_cache.get(x, weights_pd.src_desc()));
    weights.set(DNNL_ARG_DIFF_DST, g_weights_cache.get(g, weights_pd.diff_dst_desc()));
    weights.set(DNNL_ARG_DIFF_WEIGHTS, dw.target(preferred, w));
    if (db) {
      const dims b_shape{w->shape[0]};
      db->ensure(b_shape, md(b_shape, dt::f32, tag::a));
      weights.set(DNNL_ARG_DIFF_BIAS, db->t->mem);
    }
    weights.enqueue();
    dw.finish(preferred, w);
    return dw.grad;
  }

  void release_js() { pyo::release_js(dx, dw.grad); }
};

// The input, weight and optional bias of a forward call: info[0], info[1], info[2].
struct ConvInputs {
  TensorPtr x, w, b;
  ConvInputs(const Napi::CallbackInfo& info, const char* x_what, const char* w_what, const char* b_what)
      : x(unwrap(info[0], x_what)), w(unwrap(info[1], w_what)), b(unwrap_optional(info[2], b_what)) {}
};

// The state of one input shape, layout and bias presence.
template <typename ForwardPrimitive, typename DataPrimitive, typename WeightsPrimitive>
struct ConvEntryBase {
  dims x_shape, w_shape;
  md x_layout;
  bool has_bias = false;
  dt act = dt::f32;  // activations and arithmetic: f32, or bf16 over f32 master weights
  typename ForwardPrimitive::primitive_desc fwd_pd;
  Exec fwd;
  LayoutCache x_cache, w_fwd_cache;
  Output y;
  TensorPtr x_used, w, b;
  bool backward_ready = false;
  ConvBackward<DataPrimitive, WeightsPrimitive> back;
  Output db;

  explicit ConvEntryBase(const ConvInputs& in)
      : x_shape(in.x->shape), w_shape(in.w->shape), x_layout(in.x->mem.get_desc()), has_bias(in.b != nullptr), act(activation_type()) {}

  bool matches(const ConvInputs& in) const {
    return x_shape == in.x->shape && w_shape == in.w->shape && x_layout == in.x->mem.get_desc() && has_bias == (in.b != nullptr);
  }

  // Queues the forward pass; `bias` is the bias argument of the primitive (null: none, or added apart).
  void run_forward(const ConvInputs& in, const TensorPtr& bias) {
    x_used = x_cache.get(in.x, fwd_pd.src_desc());
    w = in.w;
    b = in.b;
    fwd.set(DNNL_ARG_SRC, x_used);
    fwd.set(DNNL_ARG_WEIGHTS, act == dt::f32 ? in.w : w_fwd_cache.get(in.w, fwd_pd.weights_desc()));
    if (bias) fwd.set(DNNL_ARG_BIAS, bias);
    fwd.set(DNNL_ARG_DST, y.t->mem);
    fwd.enqueue();
  }

  void release_base_js() {
    pyo::release_js(y, db);
    back.release_js();
  }
};

}  // namespace pyo
