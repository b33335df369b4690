// Convolution (3×3, 1×1; bias; fused ReLU), forward and backward. oneDNN chooses the layouts (format `any`); weights move once into the
// layout the forward primitive wants, and their gradients are produced in that same layout so the
// optimizer can update them element by element.
#include "common.h"
#include "convolution.h"
#include "kernel.h"

namespace pyo {

using namespace dnnl;

namespace {

struct ConvOptions {
  int64_t kernel_size, padding, stride;
  bool relu;
  template <typename F>
  void fields(F f) { f("kernelSize", kernel_size); f("padding", padding); f("stride", stride); f("relu", relu); }
};

struct ConvBackwardCall {
  bool input_grad;
  template <typename F>
  void fields(F f) { f("inputGrad", input_grad); }
};

struct ConvEntry : ConvEntryBase<convolution_forward, convolution_backward_data, convolution_backward_weights> {
  using ConvEntryBase::ConvEntryBase;
  double flops = 0;
  // The fused ReLU's backward, built with the others on first use.
  eltwise_backward::primitive_desc relu_pd;
  Exec relu_bwd;
  LayoutCache dy_cache;
  Output relu_grad;
  void release_js() {
    release_base_js();
    pyo::release_js(relu_grad);
  }
};

class Conv2d : public CachingKernel<Conv2d, ConvEntry, ConvOptions> {
  PYO_KERNEL(Conv2d)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    const ConvInputs in = inputs(info);
    ConvEntry* e = entry([&](const ConvEntry& c) { return c.matches(in); }, [&] { return make_entry(in); });
    // fp32: the weight moves once into the layout the primitive wants. bf16: the fp32 weight stays
    // the master copy, and each forward pass converts it.
    const md wanted = e->fwd_pd.weights_desc();
    if (e->act == dt::f32 && in.w->mem.get_desc() != wanted) relayout(*in.w, wanted, plain_md(in.w->shape));
    e->run_forward(in, in.b);
    return e->y.value(info.Env());
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto [e, dy] = gradient_of_last(info);
    if (!e->w) throw std::runtime_error("conv2d backward called before forward");
    const bool input_grad = read_options<ConvBackwardCall>(info[1], "conv2d backward").input_grad;
    if (!e->backward_ready) build_backward(*e);
    TensorPtr g = dy;
    if (options_.relu) {
      e->relu_bwd.set(DNNL_ARG_DST, e->y.t->mem);
      e->relu_bwd.set(DNNL_ARG_DIFF_DST, e->dy_cache.get(dy, e->relu_pd.diff_dst_desc()));
      e->relu_bwd.set(DNNL_ARG_DIFF_SRC, e->relu_grad.t->mem);
      e->relu_bwd.enqueue();
      g = e->relu_grad.t;
    }
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("dx", input_grad ? e->back.input_grad(g, e->w, e->x_shape).value(env) : env.Null());
    result.Set("dWeight", e->back.weight_grad(g, e->x_used, e->w, e->has_bias ? &e->db : nullptr).value(env));
    result.Set("dBias", e->has_bias ? e->db.value(env) : env.Null());
    return result;
  }

 private:
  dims strides() const { return {options_.stride, options_.stride}; }
  dims pads() const { return {options_.padding, options_.padding}; }

  ConvInputs inputs(const Napi::CallbackInfo& info) const {
    const int64_t k = options_.kernel_size;
    ConvInputs in(info, "conv2d input", "conv2d weight", "conv2d bias");
    const dims &xs = in.x->shape, &ws = in.w->shape;
    if (xs.size() != 4 || ws.size() != 4 || ws[1] != xs[1] || ws[2] != k || ws[3] != k ||
        (in.b && (in.b->shape.size() != 1 || in.b->shape[0] != ws[0]))) {
      throw std::runtime_error("conv2d: input " + shape_text(xs) + ", weight " + shape_text(ws) + " and bias " +
                               (in.b ? shape_text(in.b->shape) : "none") + " do not fit a " + std::to_string(k) + "×" +
                               std::to_string(k) + " convolution");
    }
    return in;
  }

  std::unique_ptr<ConvEntry> make_entry(const ConvInputs& in) const {
    const int64_t k = options_.kernel_size;
    auto e = std::make_unique<ConvEntry>(in);
    const dt act = e->act;
    const dims &xs = in.x->shape, &ws = in.w->shape;
    const int64_t oh = (xs[2] + 2 * options_.padding - k) / options_.stride + 1;
    const int64_t ow = (xs[3] + 2 * options_.padding - k) / options_.stride + 1;
    if (oh < 1 || ow < 1) throw std::runtime_error("conv2d: input " + shape_text(xs) + " is too small");
    const dims y_shape{xs[0], ws[0], oh, ow};
    primitive_attr attr = scratch_attr();
    if (options_.relu) {
      post_ops ops;
      ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    const md bias_md = in.b ? md({ws[0]}, dt::f32, tag::a) : md();
    e->fwd_pd = convolution_forward::primitive_desc(
        convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any_md(xs, act), any_md(ws, act),
                                  bias_md, any_md(y_shape, act), strides(), pads(), pads()),
        attr, cpu());
    e->y.ensure(y_shape, e->fwd_pd.dst_desc());
    e->flops = 2.0 * xs[0] * oh * ow * ws[0] * ws[1] * k * k;
    e->fwd.init(convolution_forward(e->fwd_pd), e->fwd_pd, k == 1 ? "conv1x1.fwd" : "conv3x3.fwd", e->flops);
    return e;
  }

  void build_backward(ConvEntry& e) const {
    const md y_layout = e.y.t->mem.get_desc();
    if (options_.relu) {
      auto hint = eltwise_forward::primitive_desc(
          eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, y_layout, 0.f), scratch_attr(),
          cpu());
      e.relu_pd = eltwise_backward::primitive_desc(
          eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, y_layout, y_layout, 0.f), scratch_attr(), cpu(), hint);
      e.relu_grad.ensure(e.y.t->shape, e.relu_pd.diff_src_desc());
      e.relu_bwd.init(eltwise_backward(e.relu_pd), e.relu_pd, "relu.bwd");
    }
    const bool one = options_.kernel_size == 1;
    e.back.init(
        convolution_backward_data::primitive_desc(
            convolution_backward_data::desc(algorithm::convolution_direct, any_md(e.x_shape, e.act), any_md(e.w_shape, e.act),
                                            any_md(e.y.t->shape, e.act), strides(), pads(), pads()),
            scratch_attr(), cpu(), e.fwd_pd),
        convolution_backward_weights::primitive_desc(
            convolution_backward_weights::desc(algorithm::convolution_direct, any_md(e.x_shape, e.act), any_md(e.w_shape),
                                               e.has_bias ? md({e.w_shape[0]}, dt::f32, tag::a) : md(),
                                               any_md(e.y.t->shape, e.act), strides(), pads(), pads()),
            scratch_attr(), cpu(), e.fwd_pd),
        one ? "conv1x1.bwd_data" : "conv3x3.bwd_data", one ? "conv1x1.bwd_weights" : "conv3x3.bwd_weights", e.flops);
    e.backward_ready = true;
  }
};

}  // namespace

PYO_EXPORT_KERNEL(Conv2d)

}  // namespace pyo
