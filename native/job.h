// A unit of work for the compute thread: a typed task (a struct or lambda whose fields name its
// arguments, run by operator()) with a label and the arithmetic it does, for the profiler.
// The task is stored inline, not on the heap: a training step queues hundreds of jobs and the
// steady state allocates nothing.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace pyo {

class Job {
 public:
  static constexpr size_t kCapacity = 160;

  Job() = default;

  template <typename Task, typename = std::enable_if_t<!std::is_same_v<std::decay_t<Task>, Job>>>
  Job(const char* label, Task&& task, double flops = 0) : label(label), flops(flops) {
    using T = std::decay_t<Task>;
    static_assert(sizeof(T) <= kCapacity, "a job's task must fit in Job::kCapacity bytes");
    static_assert(alignof(T) <= alignof(std::max_align_t), "a job's task is over-aligned");
    new (storage_) T(std::forward<Task>(task));
    ops_ = &kOps<T>;
  }

  Job(Job&& other) noexcept { take(other); }
  Job& operator=(Job&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  ~Job() { reset(); }

  void run() { ops_->run(storage_); }

  const char* label = "other";
  double flops = 0;

 private:
  struct Ops {
    void (*run)(void*);
    void (*move)(void* from, void* to);
    void (*destroy)(void*);
  };
  template <typename T>
  static constexpr Ops kOps = {
      [](void* task) { (*static_cast<T*>(task))(); },
      [](void* from, void* to) {
        new (to) T(std::move(*static_cast<T*>(from)));
        static_cast<T*>(from)->~T();
      },
      [](void* task) { static_cast<T*>(task)->~T(); },
  };

  void take(Job& other) {
    label = other.label;
    flops = other.flops;
    ops_ = other.ops_;
    if (ops_) ops_->move(other.storage_, storage_);
    other.ops_ = nullptr;
  }
  void reset() {
    if (ops_) ops_->destroy(storage_);
    ops_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char storage_[kCapacity];
  const Ops* ops_ = nullptr;
};

}  // namespace pyo
