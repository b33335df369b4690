// Convolution (3×3, 1×1; bias; fused ReLU), forward and backward. oneDNN chooses the layouts (format `any`); weights move once into the
// layout the forward primitive wants, and their gradients are produced in that same layout so the
// optimizer can update them element by element.
#include "common.h"
#include "weight_grad.h"

namespace pyo {

using namespace dnnl;


class Conv2d : public Napi::ObjectWrap<Conv2d> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Conv2d", {InstanceMethod<&Conv2d::Forward>("forward"), InstanceMethod<&Conv2d::Backward>("backward")});
  }

  explicit Conv2d(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Conv2d>(info) {
    Napi::Object o = info[0].As<Napi::Object>();
    kernel_ = static_cast<int64_t>(number_option(o, "kernelSize", 3));
    padding_ = static_cast<int64_t>(number_option(o, "padding", 0));
    stride_ = static_cast<int64_t>(number_option(o, "stride", 1));
    relu_ = bool_option(o, "relu", false);
  }
  ~Conv2d() override = default;

 private:
  struct Entry {
    dims x_shape, w_shape;
    md x_layout;
    bool has_bias = false;
    convolution_forward::primitive_desc fwd_pd;
    Exec fwd;
    LayoutCache x_cache, w_fwd_cache;
    Output y;
    TensorPtr x_used, w, b;
    double flops = 0;
    dt act = dt::f32;
    // Backward, built on first use.
    bool backward_ready = false;
    eltwise_backward::primitive_desc relu_pd;
    Exec relu_bwd;
    LayoutCache dy_cache;
    Output relu_grad;
    convolution_backward_data::primitive_desc data_pd;
    Exec bwd_data;
    LayoutCache g_data_cache, w_data_cache;
    Output dx;
    convolution_backward_weights::primitive_desc weights_pd;
    Exec bwd_weights;
    LayoutCache g_weights_cache, x_weights_cache;
    WeightGrad dw;
    Output db;
    void release_js() { pyo::release_js(y, relu_grad, dx, dw.grad, db); }
  };

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr x = unwrap(info[0], "conv2d input"), w = unwrap(info[1], "conv2d weight");
      TensorPtr b = unwrap_optional(info[2], "conv2d bias");
      if (x->shape.size() != 4 || w->shape.size() != 4 || w->shape[1] != x->shape[1] || w->shape[2] != kernel_ ||
          w->shape[3] != kernel_ || (b && (b->shape.size() != 1 || b->shape[0] != w->shape[0]))) {
        throw std::runtime_error("conv2d: input " + shape_text(x->shape) + ", weight " + shape_text(w->shape) +
                                 " and bias " + (b ? shape_text(b->shape) : "none") + " do not fit a " +
                                 std::to_string(kernel_) + "×" + std::to_string(kernel_) + " convolution");
      }
      const md x_layout = x->mem.get_desc();
      Entry* e = cache_.find_or_make(
          [&](const Entry& c) { return c.x_shape == x->shape && c.w_shape == w->shape && c.x_layout == x_layout && c.has_bias == (b != nullptr); },
          [&] { return make_entry(x, w, b != nullptr); }, last_);
      last_ = e;
      // fp32: the weight moves once into the layout the primitive wants. bf16: the fp32 weight stays
      // the master copy, and each forward pass converts it.
      if (e->act == dt::f32 && w->mem.get_desc() != e->fwd_pd.weights_desc()) relayout(*w, e->fwd_pd.weights_desc(), plain_md(w->shape));
      e->x_used = e->x_cache.get(x, e->fwd_pd.src_desc());
      e->w = w;
      e->b = b;
      e->fwd.set(DNNL_ARG_SRC, e->x_used);
      e->fwd.set(DNNL_ARG_WEIGHTS, e->act == dt::f32 ? w : e->w_fwd_cache.get(w, e->fwd_pd.weights_desc()));
      if (b) e->fwd.set(DNNL_ARG_BIAS, b);
      e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
      e->fwd.enqueue();
      return e->y.value(info.Env());
    });
  }

  std::unique_ptr<Entry> make_entry(const TensorPtr& x, const TensorPtr& w, bool has_bias) {
    auto e = std::make_unique<Entry>();
    e->x_shape = x->shape;
    e->w_shape = w->shape;
    e->x_layout = x->mem.get_desc();
    e->has_bias = has_bias;
    e->act = activation_type();
    const dt act = e->act;
    const int64_t n = x->shape[0], oc = w->shape[0];
    const int64_t oh = (x->shape[2] + 2 * padding_ - kernel_) / stride_ + 1;
    const int64_t ow = (x->shape[3] + 2 * padding_ - kernel_) / stride_ + 1;
    if (oh < 1 || ow < 1) throw std::runtime_error("conv2d: input " + shape_text(x->shape) + " is too small");
    const dims y_shape{n, oc, oh, ow};
    primitive_attr attr = scratch_attr();
    if (relu_) {
      post_ops ops;
      ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    const md bias_md = has_bias ? md({oc}, dt::f32, tag::a) : md();
    e->fwd_pd = convolution_forward::primitive_desc(
        convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any_md(x->shape, act),
                                  any_md(w->shape, act), bias_md, any_md(y_shape, act), strides(), pads(), pads()),
        attr, cpu());
    e->y.ensure(y_shape, e->fwd_pd.dst_desc());
    e->fwd.init(convolution_forward(e->fwd_pd), e->fwd_pd);
    e->flops = 2.0 * n * oh * ow * oc * w->shape[1] * kernel_ * kernel_;
    e->fwd.label = kernel_ == 1 ? "conv1x1.fwd" : "conv3x3.fwd";
    e->fwd.flops = e->flops;
    return e;
  }

  dims strides() const { return {stride_, stride_}; }
  dims pads() const { return {padding_, padding_}; }

  void build_backward(Entry& e) {
    const md y_layout = e.y.t->mem.get_desc();
    if (relu_) {
      auto hint = eltwise_forward::primitive_desc(
          eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd, y_layout, 0.f), scratch_attr(), cpu());
      e.relu_pd = eltwise_backward::primitive_desc(
          eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, y_layout, y_layout, 0.f), scratch_attr(), cpu(), hint);
      e.relu_grad.ensure(e.y.t->shape, e.relu_pd.diff_src_desc());
      e.relu_bwd.init(eltwise_backward(e.relu_pd), e.relu_pd);
      e.relu_bwd.label = "relu.bwd";
    }
    e.data_pd = convolution_backward_data::primitive_desc(
        convolution_backward_data::desc(algorithm::convolution_direct, any_md(e.x_shape, e.act), any_md(e.w_shape, e.act),
                                        any_md(e.y.t->shape, e.act), strides(), pads(), pads()),
        scratch_attr(), cpu(), e.fwd_pd);
    e.bwd_data.init(convolution_backward_data(e.data_pd), e.data_pd);
    e.bwd_data.label = kernel_ == 1 ? "conv1x1.bwd_data" : "conv3x3.bwd_data";
    e.bwd_data.flops = e.flops;
    e.weights_pd = convolution_backward_weights::primitive_desc(
        convolution_backward_weights::desc(algorithm::convolution_direct, any_md(e.x_shape, e.act), any_md(e.w_shape),
                                           e.has_bias ? md({e.w_shape[0]}, dt::f32, tag::a) : md(),
                                           any_md(e.y.t->shape, e.act), strides(), pads(), pads()),
        scratch_attr(), cpu(), e.fwd_pd);
    e.bwd_weights.init(convolution_backward_weights(e.weights_pd), e.weights_pd);
    e.bwd_weights.label = kernel_ == 1 ? "conv1x1.bwd_weights" : "conv3x3.bwd_weights";
    e.bwd_weights.flops = e.flops;
    e.backward_ready = true;
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      Entry* e = last_;
      if (!e || !e->w) throw std::runtime_error("conv2d backward called before forward");
      TensorPtr dy = unwrap(info[0], "conv2d output gradient");
      const bool input_grad = info[1].ToBoolean();
      if (dy->shape != e->y.t->shape) throw std::runtime_error("conv2d backward: gradient " + shape_text(dy->shape) + " for output " + shape_text(e->y.t->shape));
      if (!e->backward_ready) build_backward(*e);
      TensorPtr g = dy;
      if (relu_) {
        TensorPtr dy_in = e->dy_cache.get(dy, e->relu_pd.diff_dst_desc());
        e->relu_bwd.set(DNNL_ARG_DST, e->y.t->mem);
        e->relu_bwd.set(DNNL_ARG_DIFF_DST, dy_in);
        e->relu_bwd.set(DNNL_ARG_DIFF_SRC, e->relu_grad.t->mem);
        e->relu_bwd.enqueue();
        g = e->relu_grad.t;
      }
      Napi::Env env = info.Env();
      Napi::Object result = Napi::Object::New(env);
      if (input_grad) {
        e->dx.ensure(e->x_shape, e->data_pd.diff_src_desc());
        e->bwd_data.set(DNNL_ARG_DIFF_DST, e->g_data_cache.get(g, e->data_pd.diff_dst_desc()));
        e->bwd_data.set(DNNL_ARG_WEIGHTS, e->w_data_cache.get(e->w, e->data_pd.weights_desc()));
        e->bwd_data.set(DNNL_ARG_DIFF_SRC, e->dx.t->mem);
        e->bwd_data.enqueue();
        result.Set("dx", e->dx.value(env));
      } else {
        result.Set("dx", env.Null());
      }
      const md preferred = e->weights_pd.diff_weights_desc();
      e->bwd_weights.set(DNNL_ARG_SRC, e->x_weights_cache.get(e->x_used, e->weights_pd.src_desc()));
      e->bwd_weights.set(DNNL_ARG_DIFF_DST, e->g_weights_cache.get(g, e->weights_pd.diff_dst_desc()));
      e->bwd_weights.set(DNNL_ARG_DIFF_WEIGHTS, e->dw.target(preferred, e->w));
      if (e->has_bias) {
        e->db.ensure({e->w_shape[0]}, md({e->w_shape[0]}, dt::f32, tag::a));
        e->bwd_weights.set(DNNL_ARG_DIFF_BIAS, e->db.t->mem);
      }
      e->bwd_weights.enqueue();
      e->dw.finish(preferred, e->w);
      result.Set("dWeight", e->dw.grad.value(env));
      result.Set("dBias", e->has_bias ? e->db.value(env) : env.Null());
      return result;
    });
  }

  int64_t kernel_, padding_, stride_;
  bool relu_;
  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

void InitConv(Napi::Env env, Napi::Object exports) { exports.Set("Conv2d", Conv2d::Init(env)); }

}  // namespace pyo
