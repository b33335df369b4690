// Channel concatenation with the unpadded U-Net's centre crop, and its backward split.
#include "common.h"
#include "kernel.h"

namespace pyo {

using namespace dnnl;

namespace {

struct ConcatEntry {
  dims a_shape, b_shape;
  md a_layout, b_layout, b_view;
  dims crop_offsets;
  concat::primitive_desc pd;
  Exec fwd;
  Output y;
  memory b_sub;
  void* b_ptr = nullptr;
  bool backward_ready = false;
  md grad_layout, view_a, view_b;
  LayoutCache dy_cache;
  TensorPtr dy_used;
  Exec to_da, to_db;
  Output da, db;
  TensorPtr b;
  void release_js() { pyo::release_js(y, da, db); }
};

class Concat : public CachingKernel<Concat, ConcatEntry> {
  PYO_KERNEL(Concat)

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    TensorPtr a = unwrap(info[0], "concat first input"), b = unwrap(info[1], "concat second input");
    const dims& sa = a->shape;
    const dims& sb = b->shape;
    if (sa.size() != 4 || sb.size() != 4 || sa[0] != sb[0] || sb[2] < sa[2] || sb[3] < sa[3] || (sb[2] - sa[2]) % 2 ||
        (sb[3] - sa[3]) % 2) {
      throw std::runtime_error("concat: cannot centre-crop " + shape_text(sb) + " to " + shape_text(sa));
    }
    const md la = a->mem.get_desc(), lb = b->mem.get_desc();
    ConcatEntry* e = entry(
        [&](const ConcatEntry& c) { return c.a_shape == sa && c.b_shape == sb && c.a_layout == la && c.b_layout == lb; },
        [&] {
          auto n = std::make_unique<ConcatEntry>();
          n->a_shape = sa;
          n->b_shape = sb;
          n->a_layout = la;
          n->b_layout = lb;
          n->crop_offsets = {0, 0, (sb[2] - sa[2]) / 2, (sb[3] - sa[3]) / 2};
          n->b_view = lb.submemory_desc({sb[0], sb[1], sa[2], sa[3]}, n->crop_offsets);
          n->pd = concat::primitive_desc(1, {la, n->b_view}, cpu(), scratch_attr());
          n->y.ensure({sa[0], sa[1] + sb[1], sa[2], sa[3]}, n->pd.dst_desc());
          n->fwd.init(concat(n->pd), n->pd, "concat.fwd");
          return n;
        });
    if (e->b_ptr != b->buffer->ptr) {
      wait_idle();
      e->b_sub = memory(e->b_view, cpu(), b->mem.get_data_handle());
      e->b_ptr = b->buffer->ptr;
      e->b = b;
    }
    e->fwd.set(DNNL_ARG_MULTIPLE_SRC + 0, a);
    e->fwd.set(DNNL_ARG_MULTIPLE_SRC + 1, e->b_sub);
    e->fwd.set(DNNL_ARG_DST, e->y.t->mem);
    e->fwd.enqueue();
    return e->y.value(info.Env());
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto [e, dy] = gradient_of_last(info);
    if (!e->backward_ready) build_backward(*e);
    TensorPtr g = e->dy_cache.get(dy, e->grad_layout);
    if (g != e->dy_used) {
      wait_idle();
      e->to_da.args[DNNL_ARG_FROM] = memory(e->view_a, cpu(), g->mem.get_data_handle());
      e->to_db.args[DNNL_ARG_FROM] = memory(e->view_b, cpu(), g->mem.get_data_handle());
      e->dy_used = g;
    }
    e->to_da.enqueue();
    e->to_db.enqueue();
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("da", e->da.value(env));
    result.Set("db", e->db.value(env));
    return result;
  }

 private:
  // Splitting a blocked layout at a channel that is not a block multiple is not possible in place;
  // then the gradient goes through a plain copy first.
  static void build_backward(ConcatEntry& e) {
    const int64_t ca = e.a_shape[1], cb = e.b_shape[1];
    const dims part_a{e.a_shape[0], ca, e.a_shape[2], e.a_shape[3]};
    const dims part_b{e.a_shape[0], cb, e.a_shape[2], e.a_shape[3]};
    e.da.ensure(e.a_shape, e.a_layout);
    e.db.ensure(e.b_shape, e.b_layout);  // zero outside the crop, and nothing ever writes there
    const md db_view = e.b_layout.submemory_desc(part_b, e.crop_offsets);
    md source = e.y.t->mem.get_desc();
    md view_a, view_b;
    try {
      view_a = source.submemory_desc(part_a, {0, 0, 0, 0});
      view_b = source.submemory_desc(part_b, {0, ca, 0, 0});
    } catch (const dnnl::error&) {
      source = plain_md(e.y.t->shape);
      view_a = source.submemory_desc(part_a, {0, 0, 0, 0});
      view_b = source.submemory_desc(part_b, {0, ca, 0, 0});
    }
    e.grad_layout = source;
    e.view_a = view_a;
    e.view_b = view_b;
    const auto to_a = dnnl::reorder::primitive_desc(cpu(), view_a, cpu(), e.da.t->mem.get_desc(), scratch_attr());
    const auto to_b = dnnl::reorder::primitive_desc(cpu(), view_b, cpu(), db_view, scratch_attr());
    e.to_da.init(dnnl::reorder(to_a), to_a, "concat.bwd");
    e.to_db.init(dnnl::reorder(to_b), to_b, "concat.bwd");
    e.to_da.args[DNNL_ARG_TO] = e.da.t->mem;
    e.to_db.args[DNNL_ARG_TO] = memory(db_view, cpu(), e.db.t->mem.get_data_handle());
    e.backward_ready = true;
  }
};

}  // namespace

PYO_EXPORT_KERNEL(Concat)

}  // namespace pyo
