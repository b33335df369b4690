// Buffers, tensors and their layouts: allocation, relayout, layout conversion on demand, kernel
// outputs with their JS wrappers.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "common.h"

namespace pyo {

Stats& stats() {
  static Stats s;
  return s;
}

Buffer::Buffer(size_t n) : bytes(n) {
  const size_t rounded = ((std::max<size_t>(n, 1) + 63) / 64) * 64;
  ptr = std::aligned_alloc(64, rounded);
  if (!ptr) throw std::runtime_error("out of memory allocating " + std::to_string(n) + " bytes");
  std::memset(ptr, 0, rounded);
  stats().allocations += 1;
  stats().bytes += static_cast<int64_t>(n);
}

Buffer::~Buffer() {
  std::free(ptr);
  stats().bytes -= static_cast<int64_t>(bytes);
}

int64_t TensorImpl::elements() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

md plain_md(const dims& shape) {
  static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde};
  if (shape.empty() || shape.size() > 5) throw std::runtime_error("tensors have 1 to 5 dimensions");
  return md(shape, dt::f32, tags[shape.size()]);
}

md any_md(const dims& shape, dt type) { return md(shape, type, tag::any); }

namespace {
std::atomic<dt> g_activation_type{dt::f32};
}
dt activation_type() { return g_activation_type; }
void set_activation_type(dt type) { g_activation_type = type; }

TensorPtr make_tensor(const dims& shape, const md& layout) {
  auto t = std::make_shared<TensorImpl>();
  t->shape = shape;
  t->plain = plain_md(shape);
  t->buffer = std::make_shared<Buffer>(layout.get_size());
  t->mem = memory(layout, cpu(), t->buffer->ptr);
  return t;
}

TensorPtr make_tensor_like(const TensorPtr& like) {
  auto t = make_tensor(like->shape, like->mem.get_desc());
  t->plain = like->plain;
  return t;
}

void relayout(TensorImpl& t, const md& layout, const md& plain_in_layout) {
  wait_idle();
  auto old = std::make_shared<TensorImpl>();
  old->shape = t.shape;
  old->mem = t.mem;
  old->buffer = t.buffer;
  auto fresh = std::make_shared<TensorImpl>();
  fresh->buffer = std::make_shared<Buffer>(layout.get_size());
  fresh->mem = memory(layout, cpu(), fresh->buffer->ptr);
  // A plain tensor may be seen through other dims (transposed-convolution weights: logical
  // [I, O, k, k] is oneDNN's {O, I, k, k} in format iohw): then read its buffer through the plain
  // description in the new dims. A blocked tensor is already in the new dims.
  memory source = old->mem;
  if (old->mem.get_desc() == t.plain && t.plain != plain_in_layout) source = memory(plain_in_layout, cpu(), old->buffer->ptr);
  old->mem = source;
  auto exec = std::make_unique<Exec>();
  const auto pd = dnnl::reorder::primitive_desc(source, fresh->mem, scratch_attr());
  exec->init(dnnl::reorder(pd), pd, "reorder");
  exec->args[DNNL_ARG_FROM] = source;
  exec->args[DNNL_ARG_TO] = fresh->mem;
  // The job owns the one-off reorder and both buffers until it has run.
  enqueue(Job("reorder", [exec = std::move(exec), old, fresh] { exec->run(); }));
  t.mem = fresh->mem;
  t.buffer = fresh->buffer;
  t.plain = plain_in_layout;
  t.upload.reset();
}

TensorPtr LayoutCache::get(const TensorPtr& t, const md& want) {
  if (t->mem.get_desc() == want) return t;
  if (!scratch || scratch->mem.get_desc() != want || !exec.ready() ||
      exec.args.count(DNNL_ARG_FROM) == 0 || exec.args.at(DNNL_ARG_FROM).get_desc() != t->mem.get_desc()) {
    wait_idle();
    if (std::getenv("PYOCYTE_DEBUG_LAYOUTS")) {
      std::fprintf(stderr, "layout: reorder %s %s -> %s\n", shape_text(t->shape).c_str(), describe(t->mem.get_desc()).c_str(), describe(want).c_str());
    }
    scratch = make_tensor(t->shape, want);
    scratch->plain = t->plain;
    const auto pd = dnnl::reorder::primitive_desc(t->mem, scratch->mem, scratch_attr());
    exec.init(dnnl::reorder(pd), pd, "reorder");
    exec.args.clear();
    exec.owners.clear();
    exec.args[DNNL_ARG_TO] = scratch->mem;
  }
  // Owning the source keeps a temporary (a gradient only JS referenced) alive until the queued
  // reorder has read it.
  exec.set(DNNL_ARG_FROM, t);
  exec.enqueue();
  return scratch;
}

void Output::ensure(const dims& shape, const md& layout) {
  if (t && t->shape == shape && t->mem.get_desc() == layout) return;
  if (t) wait_idle();
  t = make_tensor(shape, layout);
  js.Reset();
}

Napi::Value Output::value(Napi::Env env) {
  if (js.IsEmpty() || JsTensor::Unwrap(js.Value())->impl != t) js = Napi::Persistent(JsTensor::Wrap(env, t));
  return js.Value();
}

std::string shape_text(const dims& shape) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << "]";
  return s.str();
}

std::string describe(const md& layout) {
  const auto& d = layout.data;
  if (d.format_kind != dnnl_blocked) return "opaque";
  const auto& b = d.format_desc.blocking;
  // Outer dims ordered by decreasing stride, then the inner blocks, as oneDNN names formats.
  std::vector<int> order(d.ndims);
  for (int i = 0; i < d.ndims; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::string name;
  for (int i : order) name += static_cast<char>('a' + i);
  for (int i = 0; i < b.inner_nblks; ++i) name += std::to_string(b.inner_blks[i]) + static_cast<char>('a' + b.inner_idxs[i]);
  return name;
}

}  // namespace pyo
