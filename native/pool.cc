// 2×2 max-pooling with stride 2, forward (training keeps the argmax workspace) and backward.
#include "common.h"
#include "kernel.h"

namespace pyo {

using namespace dnnl;

// ---- max-pooling 2×2 / 2 ----
class MaxPool2d : public Napi::ObjectWrap<MaxPool2d> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "MaxPool2d", {InstanceMethod<&MaxPool2d::Forward>("forward"), InstanceMethod<&MaxPool2d::Backward>("backward")});
  }
  PYO_CLASS(MaxPool2d)

 private:
  struct Entry {
    dims x_shape;
    md x_layout;
    bool training;
    pooling_forward::primitive_desc fwd_pd;
    Exec fwd;
    Output y;
    TensorPtr workspace;
    bool backward_ready = false;
    pooling_backward::primitive_desc bwd_pd;
    Exec bwd;
    LayoutCache dy_cache;
    Output dx;
    void release_js() { pyo::release_js(y, dx); }
  };
  void configure(const Napi::CallbackInfo&) {}

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr x = unwrap(info[0], "maxPool2d input");
      const bool training = bool_option(info[1].As<Napi::Object>(), "training", true);
      if (x->shape.size() != 4 || x->shape[2] % 2 || x->shape[3] % 2) {
        throw std::runtime_error("maxPool2d needs an [N, C, H, W] input with even H and W, got " + shape_text(x->shape));
      }
      const md layout = x->mem.get_desc();
      Entry* e = cache_.find_or_make(
          [&](const Entry& c) { return c.x_shape == x->shape && c.x_layout == layout && c.training == training; },
          [&] {
            auto n = std::make_unique<Entry>();
            n->x_shape = x->shape;
            n->x_layout = layout;
            n->training = training;
            const dims y_shape{x->shape[0], x->shape[1], x->shape[2] / 2, x->shape[3] / 2};
            n->fwd_pd = pooling_forward::primitive_desc(
                pooling_forward::desc(training ? prop_kind::forward_training : prop_kind::forward_inference,
                                      algorithm::pooling_max, layout, any_md(y_shape, layout.data_type()), {2, 2}, {2, 2}, {0, 0}, {0, 0}),
                scratch_attr(), cpu());
            n->y.ensure(y_shape, n->fwd_pd.dst_desc());
            n->fwd.init(pooling_forward(n->fwd_pd), n->fwd_pd);
            n->fwd.label = "maxpool.fwd";
            if (training) {
              n->workspace = make_tensor({1}, n->fwd_pd.workspace_desc());
              n->fwd.args[DNNL_ARG_WORKSPACE] = n->workspace->mem;
            }
            return n;
          },
          last_);
      if (training) last_ = e;
      e->fwd.set(DNNL_ARG_SRC, x);
      e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
      e->fwd.enqueue();
      return e->y.value(info.Env());
    });
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      Entry* e = need_last(last_, "maxPool2d");
      TensorPtr dy = unwrap(info[0], "maxPool2d output gradient");
      check_same_shape(dy, e->y.t->shape, "maxPool2d output gradient");
      if (!e->backward_ready) {
        e->bwd_pd = pooling_backward::primitive_desc(
            pooling_backward::desc(algorithm::pooling_max, e->x_layout, e->y.t->mem.get_desc(), {2, 2}, {2, 2}, {0, 0}, {0, 0}),
            scratch_attr(), cpu(), e->fwd_pd);
        e->bwd.init(pooling_backward(e->bwd_pd), e->bwd_pd);
        e->bwd.label = "maxpool.bwd";
        e->bwd.args[DNNL_ARG_WORKSPACE] = e->workspace->mem;
        e->backward_ready = true;
      }
      e->dx.ensure(e->x_shape, e->bwd_pd.diff_src_desc());
      e->bwd.set(DNNL_ARG_DIFF_DST, e->dy_cache.get(dy, e->bwd_pd.diff_dst_desc()));
      e->bwd.set(DNNL_ARG_DIFF_SRC, e->dx.t->mem);
      e->bwd.enqueue();
      return e->dx.value(info.Env());
    });
  }

  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

void InitPool(Napi::Env env, Napi::Object exports) { exports.Set("MaxPool2d", MaxPool2d::Init(env)); }

}  // namespace pyo
