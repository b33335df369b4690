// The pieces every kernel shares: tensors, the compute queue, primitive executions, layouts.
//
// Threading model. JS calls kernels; a kernel builds its oneDNN primitives and buffers on the JS
// thread (once per input shape) and queues their execution. One long-lived compute thread runs the
// queue in order, so every oneDNN call runs in one OpenMP team and the JS thread stays free.
// Rule: the JS thread changes a queued object (arguments, buffers) only after wait_idle().
#pragma once

#include <napi.h>

#include <dnnl.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "job.h"

namespace pyo {

using dnnl::memory;
using md = memory::desc;
using tag = memory::format_tag;
using dt = memory::data_type;
using dims = memory::dims;

dnnl::engine& cpu();
dnnl::stream& compute_stream();  // only used on the compute thread

// Every primitive takes its scratchpad from us (user mode). oneDNN's own "global" scratchpad is
// thread-local to the thread that *created* the primitive, but ours are created on the JS thread
// and run on the compute thread, which would then find a scratchpad of the wrong size.
dnnl::primitive_attr scratch_attr();
// A scratchpad buffer of at least `bytes`, owned by the compute thread (grows, never shrinks).
void* compute_scratchpad(size_t bytes);

struct Exec;

// An aligned allocation, counted in the engine's statistics.
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

struct Stats {
  std::atomic<int64_t> allocations{0};
  std::atomic<int64_t> bytes{0};
};
Stats& stats();

// A tensor: logical row-major `shape`, stored in `mem` (any oneDNN layout). `plain` describes the
// plain row-major logical data in the dimension order of `mem` (they differ only for transposed-
// convolution weights, whose logical [I, O, k, k] oneDNN sees as {O, I, k, k}).
struct TensorImpl {
  dims shape;
  md plain;
  memory mem;
  std::shared_ptr<Buffer> buffer;
  // Upload staging, allocated on the first write.
  std::shared_ptr<Buffer> staging;
  memory staging_mem;
  std::shared_ptr<Exec> upload;
  md upload_for;
  std::atomic<int> pending_uploads{0};
  int64_t elements() const;
};
using TensorPtr = std::shared_ptr<TensorImpl>;

md plain_md(const dims& shape);
md any_md(const dims& shape, dt type = dt::f32);
// The data type of activations and convolution arithmetic for kernels created from now on:
// f32, or bf16 (weights, gradients of weights, statistics and losses stay f32).
dt activation_type();
void set_activation_type(dt type);
// The channel-blocked activation layout oneDNN's own kernels use on this CPU: nChw16c with
// AVX-512, nChw8c below it. Layouts this code fixes must follow it: on an AVX2 CPU a transposed
// convolution into nChw16c falls to oneDNN's reference code (0.5 GFLOP/s, 75 % of a training step).
tag blocked_activation_tag();
// A zero-filled tensor with the given layout.
TensorPtr make_tensor(const dims& shape, const md& layout);
TensorPtr make_tensor_like(const TensorPtr& like);
// Moves a tensor's data into a new layout whose dims are `plain_in_layout`'s (queued reorder).
void relayout(TensorImpl& t, const md& layout, const md& plain_in_layout);

// ---- the compute queue ----
void enqueue(Job&& job);
void wait_idle();
// The first error the compute thread hit since the last call, or "" (clears it).
std::string take_error();
// Per-label time and arithmetic of the jobs run while profiling is on.
void set_profiling(bool on);
struct ProfileEntry {
  int64_t calls = 0;
  double seconds = 0, flops = 0;
};
std::unordered_map<std::string, ProfileEntry> take_profile();
// The oneDNN implementation of every primitive created so far, by profile label ("conv3x3.fwd" →
// {"jit:avx2"}): a kernel that lands on oneDNN's reference code ("ref:any") shows here.
std::unordered_map<std::string, std::set<std::string>> primitive_implementations();

// A primitive with its arguments, executed from the queue.
struct Exec {
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  // Tensors that arguments point into, kept alive while they are arguments.
  std::unordered_map<int, TensorPtr> owners;
  const char* label = "other";
  double flops = 0;
  // The primitive's scratchpad: a view whose buffer the compute thread provides when it runs.
  memory scratch;
  size_t scratch_bytes = 0;
  bool ready() const { return static_cast<bool>(prim); }
  // Takes the primitive, its scratchpad size and what the profiler calls it.
  void init(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd, const char* label, double flops = 0);
  // Sets an argument; a changed value waits for the queue first so no queued run sees a half-update.
  void set(int key, const memory& m);
  // The same, keeping the tensor alive as long as it is an argument.
  void set(int key, const TensorPtr& t);
  // Queues one run; the Exec must outlive it (kernels own theirs).
  void enqueue();
  // Runs it now (on the compute thread).
  void run();
};

// Gives a tensor in a wanted layout: the tensor itself, or a cached scratch copy refreshed by a
// queued reorder. Layout mismatches happen only at the network's input/output and where oneDNN
// picks different layouts for forward and backward.
struct LayoutCache {
  TensorPtr scratch;
  Exec exec;
  TensorPtr get(const TensorPtr& t, const md& want);
};

// A kernel-owned output tensor with its persistent JS wrapper. The wrapper reference must be
// released on the JS thread (release_js) before an Output is destroyed elsewhere.
struct Output {
  TensorPtr t;
  Napi::ObjectReference js;
  // Allocates (once) a tensor of this shape and layout, reusing the current one when it matches.
  void ensure(const dims& shape, const md& layout);
  Napi::Value value(Napi::Env env);
};

template <typename... Outputs>
void release_js(Outputs&... outputs) {
  (outputs.js.Reset(), ...);
}

// Destroys an object on the compute thread once the jobs queued before it (which may point into
// it) have run, so that freeing a kernel never makes the JS thread wait.
template <typename T>
void destroy_after_queue(T* doomed) {
  enqueue(Job("free", [doomed] { delete doomed; }));
}

// ---- JS bindings ----
class JsTensor : public Napi::ObjectWrap<JsTensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, const TensorPtr& impl);
  explicit JsTensor(const Napi::CallbackInfo& info);
  ~JsTensor() override;
  TensorPtr impl;

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Layout(const Napi::CallbackInfo& info);
  Napi::Reference<Napi::Array> shape_;
};

TensorPtr unwrap(const Napi::Value& value, const char* what);
TensorPtr unwrap_optional(const Napi::Value& value, const char* what);
dims shape_of(const Napi::Value& value);
std::string describe(const md& layout);
std::string shape_text(const dims& shape);

// Runs a JS-thread body and turns C++/oneDNN exceptions into JS errors.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

// Each kernel keeps its state per input shape; it keeps a few shapes (training patches,
// validation images) and evicts the least recently used, never the one `keep` (the entry a
// pending backward pass needs). Entries define release_js() for their Outputs.
template <typename Entry>
struct EntryCache {
  std::vector<std::unique_ptr<Entry>> entries;
  static constexpr size_t kMaxEntries = 4;
  template <typename Match, typename Make>
  Entry* find_or_make(Match match, Make make, const Entry* keep = nullptr) {
    for (size_t i = 0; i < entries.size(); ++i) {
      if (match(*entries[i])) {
        if (i != 0) std::rotate(entries.begin(), entries.begin() + i, entries.begin() + i + 1);
        return entries.front().get();
      }
    }
    if (entries.size() >= kMaxEntries) {
      auto victim = entries.end() - 1;
      if (victim->get() == keep) --victim;
      (*victim)->release_js();
      destroy_after_queue(victim->release());
      entries.erase(victim);
    }
    entries.insert(entries.begin(), make());
    return entries.front().get();
  }
  ~EntryCache() {
    for (auto& e : entries) {
      e->release_js();
      destroy_after_queue(e.release());
    }
  }
};

}  // namespace pyo
