// The 2×2, stride-2 transposed convolution (the U-Net's up-convolution), forward and backward.
#include "channels.h"
#include "common.h"
#include "weight_grad.h"

namespace pyo {

using namespace dnnl;

// The U-Net's up-convolution: kernel = stride, no padding. Logical weights are [I, O, s, s]
// (PyTorch/ONNX); oneDNN calls them {O, I, s, s}, which is the same memory as format `iohw`.
class ConvTranspose2d : public Napi::ObjectWrap<ConvTranspose2d> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ConvTranspose2d",
                       {InstanceMethod<&ConvTranspose2d::Forward>("forward"), InstanceMethod<&ConvTranspose2d::Backward>("backward")});
  }

  explicit ConvTranspose2d(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConvTranspose2d>(info) {
    stride_ = static_cast<int64_t>(number_option(info[0].As<Napi::Object>(), "stride", 2));
  }
  ~ConvTranspose2d() override = default;

 private:
  struct Entry {
    dims x_shape, w_shape, oi_shape;
    md x_layout;
    bool has_bias = false;
    deconvolution_forward::primitive_desc fwd_pd;
    Exec fwd;
    LayoutCache x_cache, w_fwd_cache;
    Output y;
    TensorPtr x_used, w, b;
    dt act = dt::f32;
    bool backward_ready = false;
    LayoutCache g_bias_cache;
    deconvolution_backward_data::primitive_desc data_pd;
    Exec bwd_data;
    LayoutCache g_data_cache, g_weights_cache, w_data_cache, x_weights_cache;
    Output dx;
    deconvolution_backward_weights::primitive_desc weights_pd;
    Exec bwd_weights;
    WeightGrad dw;
    Output db;
    void release_js() { pyo::release_js(y, dx, dw.grad, db); }
  };

  dims strides() const { return {stride_, stride_}; }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr x = unwrap(info[0], "convTranspose2d input"), w = unwrap(info[1], "convTranspose2d weight");
      TensorPtr b = unwrap_optional(info[2], "convTranspose2d bias");
      if (x->shape.size() != 4 || w->shape.size() != 4 || w->shape[0] != x->shape[1] || w->shape[2] != stride_ ||
          w->shape[3] != stride_ || (b && b->shape[0] != w->shape[1])) {
        throw std::runtime_error("convTranspose2d: input " + shape_text(x->shape) + " and weight " + shape_text(w->shape) + " do not fit");
      }
      const md x_layout = x->mem.get_desc();
      Entry* e = cache_.find_or_make(
          [&](const Entry& c) { return c.x_shape == x->shape && c.w_shape == w->shape && c.x_layout == x_layout && c.has_bias == (b != nullptr); },
          [&] { return make_entry(x, w, b != nullptr); }, last_);
      last_ = e;
      // Compare the plain view too: with I == O the dims alone cannot tell iohw from oihw.
      const md iohw(e->oi_shape, dt::f32, tag::iohw);
      // bf16: the fp32 master moves once to the plain {O, I, s, s} view, then converts per pass.
      const md master = e->act == dt::f32 ? e->fwd_pd.weights_desc() : iohw;
      if (w->mem.get_desc() != master || w->plain != iohw) relayout(*w, master, iohw);
      e->x_used = e->x_cache.get(x, e->fwd_pd.src_desc());
      e->w = w;
      e->fwd.set(DNNL_ARG_SRC, e->x_used);
      e->fwd.set(DNNL_ARG_WEIGHTS, e->act == dt::f32 ? w : e->w_fwd_cache.get(w, e->fwd_pd.weights_desc()));
      e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
      e->fwd.enqueue();
      e->b = b;
      if (b) {
        Job job;
        job.run = [](Job& j) { add_channel_bias(j.tensors[0], j.tensors[1]); };
        job.label = "upconv.bias";
        job.tensors[0] = e->y.t;
        job.tensors[1] = b;
        enqueue(std::move(job));
      }
      return e->y.value(info.Env());
    });
  }

  std::unique_ptr<Entry> make_entry(const TensorPtr& x, const TensorPtr& w, bool has_bias) {
    auto e = std::make_unique<Entry>();
    e->x_shape = x->shape;
    e->w_shape = w->shape;
    e->oi_shape = {w->shape[1], w->shape[0], stride_, stride_};
    e->x_layout = x->mem.get_desc();
    e->has_bias = has_bias;
    e->act = activation_type();
    const dims y_shape{x->shape[0], w->shape[1], x->shape[2] * stride_, x->shape[3] * stride_};
    // The bias is added by add_channel_bias (oneDNN's own bias path is slow here), over an output
    // layout fixed to nChw16c, which both that loop and the concatenation after it handle well.
    e->fwd_pd = deconvolution_forward::primitive_desc(
        deconvolution_forward::desc(prop_kind::forward_training, algorithm::deconvolution_direct, any_md(x->shape, e->act),
                                    any_md(e->oi_shape, e->act), md(y_shape, e->act, tag::aBcd16b), strides(), {0, 0}, {0, 0}),
        scratch_attr(), cpu());
    e->y.ensure(y_shape, e->fwd_pd.dst_desc());
    e->fwd.init(deconvolution_forward(e->fwd_pd), e->fwd_pd);
    e->fwd.label = "upconv.fwd";
    e->fwd.flops = 2.0 * x->shape[0] * x->shape[2] * x->shape[3] * x->shape[1] * w->shape[1] * stride_ * stride_;
    return e;
  }

  void build_backward(Entry& e) {
    e.data_pd = deconvolution_backward_data::primitive_desc(
        deconvolution_backward_data::desc(algorithm::deconvolution_direct, any_md(e.x_shape, e.act), any_md(e.oi_shape, e.act),
                                          any_md(e.y.t->shape, e.act), strides(), {0, 0}, {0, 0}),
        scratch_attr(), cpu(), e.fwd_pd);
    e.bwd_data.init(deconvolution_backward_data(e.data_pd), e.data_pd);
    e.bwd_data.label = "upconv.bwd_data";
    e.bwd_data.flops = e.fwd.flops;
    e.weights_pd = deconvolution_backward_weights::primitive_desc(
        deconvolution_backward_weights::desc(algorithm::deconvolution_direct, any_md(e.x_shape, e.act), any_md(e.oi_shape),
                                             any_md(e.y.t->shape, e.act), strides(), {0, 0}, {0, 0}),
        scratch_attr(), cpu(), e.fwd_pd);
    e.bwd_weights.init(deconvolution_backward_weights(e.weights_pd), e.weights_pd);
    e.bwd_weights.label = "upconv.bwd_weights";
    e.bwd_weights.flops = e.fwd.flops;
    e.backward_ready = true;
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      Entry* e = last_;
      if (!e || !e->w) throw std::runtime_error("convTranspose2d backward called before forward");
      TensorPtr dy = unwrap(info[0], "convTranspose2d output gradient");
      if (dy->shape != e->y.t->shape) throw std::runtime_error("convTranspose2d backward: gradient " + shape_text(dy->shape) + " for output " + shape_text(e->y.t->shape));
      if (!e->backward_ready) build_backward(*e);
      Napi::Env env = info.Env();
      e->dx.ensure(e->x_shape, e->data_pd.diff_src_desc());
      e->bwd_data.set(DNNL_ARG_DIFF_DST, e->g_data_cache.get(dy, e->data_pd.diff_dst_desc()));
      e->bwd_data.set(DNNL_ARG_WEIGHTS, e->w_data_cache.get(e->w, e->data_pd.weights_desc()));
      e->bwd_data.set(DNNL_ARG_DIFF_SRC, e->dx.t->mem);
      e->bwd_data.enqueue();
      const md preferred = e->weights_pd.diff_weights_desc();
      e->bwd_weights.set(DNNL_ARG_SRC, e->x_weights_cache.get(e->x_used, e->weights_pd.src_desc()));
      e->bwd_weights.set(DNNL_ARG_DIFF_DST, e->g_weights_cache.get(dy, e->weights_pd.diff_dst_desc()));
      e->bwd_weights.set(DNNL_ARG_DIFF_WEIGHTS, e->dw.target(preferred, e->w));
      e->bwd_weights.enqueue();
      e->dw.finish(preferred, e->w);
      if (e->has_bias) {
        e->db.ensure({e->oi_shape[0]}, md({e->oi_shape[0]}, dt::f32, tag::a));
        Job job;
        job.run = [](Job& j) { channel_sums(j.tensors[0], j.tensors[1]); };
        job.label = "upconv.dbias";
        job.tensors[0] = e->g_bias_cache.get(dy, e->y.t->mem.get_desc());
        job.tensors[1] = e->db.t;
        enqueue(std::move(job));
      }
      Napi::Object result = Napi::Object::New(env);
      result.Set("dx", e->dx.value(env));
      result.Set("dWeight", e->dw.grad.value(env));
      result.Set("dBias", e->has_bias ? e->db.value(env) : env.Null());
      return result;
    });
  }

  int64_t stride_;
  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

void InitUpconv(Napi::Env env, Napi::Object exports) { exports.Set("ConvTranspose2d", ConvTranspose2d::Init(env)); }

}  // namespace pyo
