// Tensors, buffers, the compute thread and its queue.
#include <omp.h>
#include <xmmintrin.h>
#include <pmmintrin.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <chrono>
#include <thread>

#include "common.h"

namespace pyo {

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& compute_stream() {
  static dnnl::stream stream(cpu());
  return stream;
}

dnnl::primitive_attr scratch_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void* compute_scratchpad(size_t bytes) {
  static std::unique_ptr<Buffer> buffer;
  if (!buffer || buffer->bytes < bytes) buffer = std::make_unique<Buffer>(bytes);
  return buffer->ptr;
}

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

namespace {
void run_exec(Job& job);

void run_owned_exec(Job& job) {
  run_exec(job);
  delete static_cast<Exec*>(job.self);
}
}  // namespace

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
  auto* exec = new Exec();
  const auto pd = dnnl::reorder::primitive_desc(source, fresh->mem, scratch_attr());
  exec->init(dnnl::reorder(pd), pd);
  exec->args[DNNL_ARG_FROM] = source;
  exec->args[DNNL_ARG_TO] = fresh->mem;
  Job job;
  job.run = run_owned_exec;
  job.label = "reorder";
  job.self = exec;
  job.tensors[0] = old;
  job.tensors[1] = fresh;
  t.mem = fresh->mem;
  t.buffer = fresh->buffer;
  t.plain = plain_in_layout;
  t.upload.reset();
  enqueue(std::move(job));
}

// ---- the compute queue ----
namespace {
// Denormal floats make some kernels 10-100× slower once gradients get tiny; flush them to zero on
// the compute thread and every OpenMP worker (MXCSR is per thread).
void flush_denormals() {
#pragma omp parallel
  {
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
  }
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
}

struct Queue {
  std::mutex mu;
  std::condition_variable work, idle;
  std::vector<Job> ring = std::vector<Job>(4096);
  size_t head = 0, count = 0;
  bool busy = false, stop = false;
  std::string error;
  std::thread thread;
  int threads = 0;
  std::atomic<bool> profiling{false};
  const bool debug_jobs = std::getenv("PYOCYTE_DEBUG_JOBS") != nullptr;
  std::unordered_map<std::string, ProfileEntry> profile;  // guarded by mu

  void start() {
    thread = std::thread([this] { loop(); });
  }

  void loop() {
    if (threads > 0) omp_set_num_threads(threads);
    flush_denormals();
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu);
        work.wait(lock, [&] { return count > 0 || stop; });
        if (count == 0 && stop) return;
        job = std::move(ring[head]);
        head = (head + 1) % ring.size();
        --count;
        busy = true;
      }
      try {
        if (debug_jobs) std::fprintf(stderr, "job: %s\n", job.label);
        if (profiling) {
          const auto t0 = std::chrono::steady_clock::now();
          job.run(job);
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          std::lock_guard<std::mutex> lock(mu);
          auto& entry = profile[job.label];
          entry.calls += 1;
          entry.seconds += seconds;
          entry.flops += job.flops;
        } else {
          job.run(job);
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.empty()) error = e.what();
      }
      job = Job();  // release tensors outside the lock
      {
        std::lock_guard<std::mutex> lock(mu);
        busy = false;
        idle.notify_all();  // wakes wait_idle() and producers waiting for ring space
      }
    }
  }
};

Queue& queue() {
  static Queue* q = [] {
    auto* fresh = new Queue();
    fresh->start();
    return fresh;
  }();
  return *q;
}
}  // namespace

void enqueue(Job&& job) {
  auto& q = queue();
  std::unique_lock<std::mutex> lock(q.mu);
  q.idle.wait(lock, [&] { return q.count < q.ring.size(); });
  q.ring[(q.head + q.count) % q.ring.size()] = std::move(job);
  ++q.count;
  q.work.notify_one();
}

void wait_idle() {
  auto& q = queue();
  std::unique_lock<std::mutex> lock(q.mu);
  q.idle.wait(lock, [&] { return q.count == 0 && !q.busy; });
}

std::string take_error() {
  auto& q = queue();
  std::lock_guard<std::mutex> lock(q.mu);
  std::string e;
  std::swap(e, q.error);
  return e;
}

void set_profiling(bool on) {
  wait_idle();
  queue().profiling = on;
}

std::unordered_map<std::string, ProfileEntry> take_profile() {
  wait_idle();
  auto& q = queue();
  std::lock_guard<std::mutex> lock(q.mu);
  std::unordered_map<std::string, ProfileEntry> out;
  std::swap(out, q.profile);
  return out;
}

void set_compute_threads(int threads) {
  Job job;
  job.scalars[0] = threads;
  job.run = [](Job& j) {
    omp_set_num_threads(static_cast<int>(j.scalars[0]));
    flush_denormals();
  };
  queue().threads = threads;
  enqueue(std::move(job));
}

int compute_threads() {
  int n = queue().threads;
  return n > 0 ? n : omp_get_max_threads();
}

void stop_queue() {
  auto& q = queue();
  {
    std::lock_guard<std::mutex> lock(q.mu);
    q.stop = true;
    q.work.notify_all();
  }
  if (q.thread.joinable()) q.thread.join();
}

// ---- executions and layouts ----
void Exec::set(int key, const memory& m) {
  auto it = args.find(key);
  if (it != args.end() && it->second.get() == m.get()) return;
  wait_idle();
  args[key] = m;
  owners.erase(key);
}

void Exec::set(int key, const TensorPtr& t) {
  auto it = args.find(key);
  if (it != args.end() && it->second.get() == t->mem.get()) return;
  wait_idle();
  args[key] = t->mem;
  owners[key] = t;
}

void Exec::init(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd) {
  prim = p;
  const md scratch_md = pd.scratchpad_desc();
  scratch_bytes = scratch_md.get_size();
  if (scratch_bytes > 0) {
    scratch = memory(scratch_md, cpu(), DNNL_MEMORY_NONE);
    args[DNNL_ARG_SCRATCHPAD] = scratch;
  }
}

namespace {
void run_exec(Job& job) {
  auto* e = static_cast<Exec*>(job.self);
  if (e->scratch_bytes > 0) e->scratch.set_data_handle(compute_scratchpad(e->scratch_bytes));
  e->prim.execute(compute_stream(), e->args);
}
}  // namespace

void Exec::enqueue() {
  Job job;
  job.run = run_exec;
  job.self = this;
  job.label = label;
  job.flops = flops;
  pyo::enqueue(std::move(job));
}

TensorPtr LayoutCache::get(const TensorPtr& t, const md& want) {
  if (t->mem.get_desc() == want) return t;
  if (!scratch || scratch->mem.get_desc() != want || !exec.ready() ||
      exec.args.at(DNNL_ARG_FROM).get_desc() != t->mem.get_desc()) {
    wait_idle();
    if (std::getenv("PYOCYTE_DEBUG_LAYOUTS")) {
      std::fprintf(stderr, "layout: reorder %s %s -> %s\n", shape_text(t->shape).c_str(), describe(t->mem.get_desc()).c_str(), describe(want).c_str());
    }
    scratch = make_tensor(t->shape, want);
    scratch->plain = t->plain;
    const auto pd = dnnl::reorder::primitive_desc(t->mem, scratch->mem, scratch_attr());
    exec.init(dnnl::reorder(pd), pd);
    exec.label = "reorder";
    exec.args.clear();
    exec.args[DNNL_ARG_FROM] = t->mem;
    exec.args[DNNL_ARG_TO] = scratch->mem;
  }
  exec.set(DNNL_ARG_FROM, t->mem);
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
