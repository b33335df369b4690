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

tag blocked_activation_tag() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return tag::aBcd16b;
    default:
      return tag::aBcd8b;
  }
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
          job.run();
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          std::lock_guard<std::mutex> lock(mu);
          auto& entry = profile[job.label];
          entry.calls += 1;
          entry.seconds += seconds;
          entry.flops += job.flops;
        } else {
          job.run();
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
  queue().threads = threads;
  enqueue(Job("threads", [threads] {
    omp_set_num_threads(threads);
    flush_denormals();
  }));
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

namespace {
std::mutex implementations_mu;
std::unordered_map<std::string, std::set<std::string>> implementations;  // guarded by implementations_mu
}  // namespace

std::unordered_map<std::string, std::set<std::string>> primitive_implementations() {
  std::lock_guard<std::mutex> lock(implementations_mu);
  return implementations;
}

void Exec::init(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd, const char* name, double arithmetic) {
  {
    std::lock_guard<std::mutex> lock(implementations_mu);
    implementations[name].insert(pd.impl_info_str());
  }
  prim = p;
  label = name;
  flops = arithmetic;
  const md scratch_md = pd.scratchpad_desc();
  scratch_bytes = scratch_md.get_size();
  if (scratch_bytes > 0) {
    scratch = memory(scratch_md, cpu(), DNNL_MEMORY_NONE);
    args[DNNL_ARG_SCRATCHPAD] = scratch;
  }
}

void Exec::run() {
  if (scratch_bytes > 0) scratch.set_data_handle(compute_scratchpad(scratch_bytes));
  prim.execute(compute_stream(), args);
}

void Exec::enqueue() {
  pyo::enqueue(Job(label, [this] { run(); }, flops));
}

}  // namespace pyo
