// Channel concatenation with the unpadded U-Net's centre crop, its backward split, the sum used
// to accumulate skip gradients, and dropout.
#include "common.h"
#include "random.h"

namespace pyo {

using namespace dnnl;

class Concat : public Napi::ObjectWrap<Concat> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Concat", {InstanceMethod<&Concat::Forward>("forward"), InstanceMethod<&Concat::Backward>("backward")});
  }
  explicit Concat(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Concat>(info) {}
  ~Concat() override = default;

 private:
  struct Entry {
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

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      TensorPtr a = unwrap(info[0], "concat first input"), b = unwrap(info[1], "concat second input");
      const dims& sa = a->shape;
      const dims& sb = b->shape;
      if (sa.size() != 4 || sb.size() != 4 || sa[0] != sb[0] || sb[2] < sa[2] || sb[3] < sa[3] || (sb[2] - sa[2]) % 2 ||
          (sb[3] - sa[3]) % 2) {
        throw std::runtime_error("concat: cannot centre-crop " + shape_text(sb) + " to " + shape_text(sa));
      }
      const md la = a->mem.get_desc(), lb = b->mem.get_desc();
      Entry* e = cache_.find_or_make(
          [&](const Entry& c) { return c.a_shape == sa && c.b_shape == sb && c.a_layout == la && c.b_layout == lb; },
          [&] {
            auto n = std::make_unique<Entry>();
            n->a_shape = sa;
            n->b_shape = sb;
            n->a_layout = la;
            n->b_layout = lb;
            n->crop_offsets = {0, 0, (sb[2] - sa[2]) / 2, (sb[3] - sa[3]) / 2};
            n->b_view = lb.submemory_desc({sb[0], sb[1], sa[2], sa[3]}, n->crop_offsets);
            n->pd = concat::primitive_desc(1, {la, n->b_view}, cpu(), scratch_attr());
            n->y.ensure({sa[0], sa[1] + sb[1], sa[2], sa[3]}, n->pd.dst_desc());
            n->fwd.init(concat(n->pd), n->pd);
            n->fwd.label = "concat.fwd";
            return n;
          },
          last_);
      last_ = e;
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
    });
  }

  // Splitting a blocked layout at a channel that is not a block multiple is not possible in place;
  // then the gradient goes through a plain copy first.
  void build_backward(Entry& e) {
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
    e.to_da.init(dnnl::reorder(to_a), to_a);
    e.to_db.init(dnnl::reorder(to_b), to_b);
    e.to_da.args[DNNL_ARG_TO] = e.da.t->mem;
    e.to_da.label = e.to_db.label = "concat.bwd";
    e.to_db.args[DNNL_ARG_TO] = memory(db_view, cpu(), e.db.t->mem.get_data_handle());
    e.backward_ready = true;
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    return guarded(info, [&]() -> Napi::Value {
      Entry* e = last_;
      if (!e) throw std::runtime_error("concat backward called before forward");
      TensorPtr dy = unwrap(info[0], "concat output gradient");
      if (dy->shape != e->y.t->shape) throw std::runtime_error("concat backward: gradient " + shape_text(dy->shape) + " for output " + shape_text(e->y.t->shape));
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

void InitConcat(Napi::Env env, Napi::Object exports) {
  exports.Set("Concat", Concat::Init(env));
  exports.Set("Add", Add::Init(env));
  exports.Set("Dropout", Dropout::Init(env));
}

}  // namespace pyo
