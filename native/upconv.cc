// The 2×2, stride-2 transposed convolution (the U-Net's up-convolution), forward and backward.
#include "channels.h"
#include "common.h"
#include "convolution.h"
#include "kernel.h"

namespace pyo {

using namespace dnnl;

namespace {

struct ConvTransposeOptions {
  int64_t stride;
  template <typename F>
  void fields(F f) { f("stride", stride); }
};

struct ConvTransposeEntry : ConvEntryBase<deconvolution_forward, deconvolution_backward_data, deconvolution_backward_weights> {
  using ConvEntryBase::ConvEntryBase;
  dims oi_shape;  // the weights as oneDNN sees them, {O, I, s, s}
  LayoutCache g_bias_cache;
  void release_js() { release_base_js(); }
};

// The U-Net's up-convolution: kernel = stride, no padding. Logical weights are [I, O, s, s]
// (PyTorch/ONNX); oneDNN calls them {O, I, s, s}, which is the same memory as format `iohw`.
class ConvTranspose2d : public CachingKernel<ConvTranspose2d, ConvTransposeEntry, ConvTransposeOptions> {
  PYO_KERNEL(ConvTranspose2d)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    const ConvInputs in = inputs(info);
    ConvTransposeEntry* e = entry([&](const ConvTransposeEntry& c) { return c.matches(in); }, [&] { return make_entry(in); });
    // Compare the plain view too: with I == O the dims alone cannot tell iohw from oihw.
    const md iohw(e->oi_shape, dt::f32, tag::iohw);
    // bf16: the fp32 master moves once to the plain {O, I, s, s} view, then converts per pass.
    const md master = e->act == dt::f32 ? e->fwd_pd.weights_desc() : iohw;
    if (in.w->mem.get_desc() != master || in.w->plain != iohw) relayout(*in.w, master, iohw);
    e->run_forward(in, nullptr);
    if (in.b) enqueue(Job("upconv.bias", [y = e->y.t, b = in.b] { add_channel_bias(y, b); }));
    return e->y.value(info.Env());
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto [e, dy] = gradient_of_last(info);
    if (!e->w) throw std::runtime_error("convTranspose2d backward called before forward");
    if (!e->backward_ready) build_backward(*e);
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("dx", e->back.input_grad(dy, e->w, e->x_shape).value(env));
    result.Set("dWeight", e->back.weight_grad(dy, e->x_used, e->w).value(env));
    if (e->has_bias) {
      e->db.ensure({e->oi_shape[0]}, md({e->oi_shape[0]}, dt::f32, tag::a));
      TensorPtr g = e->g_bias_cache.get(dy, e->y.t->mem.get_desc());
      enqueue(Job("upconv.dbias", [g, db = e->db.t] { channel_sums(g, db); }));
    }
    result.Set("dBias", e->has_bias ? e->db.value(env) : env.Null());
    return result;
  }

 private:
  dims strides() const { return {options_.stride, options_.stride}; }

  ConvInputs inputs(const Napi::CallbackInfo& info) const {
    const int64_t s = options_.stride;
    ConvInputs in(info, "convTranspose2d input", "convTranspose2d weight", "convTranspose2d bias");
    const dims &xs = in.x->shape, &ws = in.w->shape;
    if (xs.size() != 4 || ws.size() != 4 || ws[0] != xs[1] || ws[2] != s || ws[3] != s || (in.b && in.b->shape[0] != ws[1])) {
      throw std::runtime_error("convTranspose2d: input " + shape_text(xs) + " and weight " + shape_text(ws) + " do not fit");
    }
    return in;
  }

  std::unique_ptr<ConvTransposeEntry> make_entry(const ConvInputs& in) const {
    const int64_t s = options_.stride;
    auto e = std::make_unique<ConvTransposeEntry>(in);
    const dims &xs = in.x->shape, &ws = in.w->shape;
    e->oi_shape = {ws[1], ws[0], s, s};
    const dims y_shape{xs[0], ws[1], xs[2] * s, xs[3] * s};
    // The bias is added by add_channel_bias (oneDNN's own bias path is slow here), over an output
    // layout fixed to the CPU's channel-blocked one, which that loop and the concatenation after it
    // handle well.
    e->fwd_pd = deconvolution_forward::primitive_desc(
        deconvolution_forward::desc(prop_kind::forward_training, algorithm::deconvolution_direct, any_md(xs, e->act),
                                    any_md(e->oi_shape, e->act), md(y_shape, e->act, blocked_activation_tag()), strides(), {0, 0}, {0, 0}),
        scratch_attr(), cpu());
    e->y.ensure(y_shape, e->fwd_pd.dst_desc());
    const double flops = 2.0 * xs[0] * xs[2] * xs[3] * xs[1] * ws[1] * s * s;
    e->fwd.init(deconvolution_forward(e->fwd_pd), e->fwd_pd, "upconv.fwd", flops);
    return e;
  }

  void build_backward(ConvTransposeEntry& e) const {
    e.back.init(
        deconvolution_backward_data::primitive_desc(
            deconvolution_backward_data::desc(algorithm::deconvolution_direct, any_md(e.x_shape, e.act), any_md(e.oi_shape, e.act),
                                              any_md(e.y.t->shape, e.act), strides(), {0, 0}, {0, 0}),
            scratch_attr(), cpu(), e.fwd_pd),
        deconvolution_backward_weights::primitive_desc(
            deconvolution_backward_weights::desc(algorithm::deconvolution_direct, any_md(e.x_shape, e.act), any_md(e.oi_shape),
                                                 any_md(e.y.t->shape, e.act), strides(), {0, 0}, {0, 0}),
            scratch_attr(), cpu(), e.fwd_pd),
        "upconv.bwd_data", "upconv.bwd_weights", e.fwd.flops);
    e.backward_ready = true;
  }
};

}  // namespace

PYO_EXPORT_KERNEL(ConvTranspose2d)

}  // namespace pyo
