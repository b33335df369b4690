// What every kernel class shares: the JS class around it, its typed options, its registration
// in the addon's exports, and (for kernels with state per input shape) the entry cache.
//
// A kernel is `class K : public Kernel<K, KOptions>` (or `CachingKernel<K, KEntry, KOptions>`)
// that starts with `PYO_KERNEL(K)` (its JS class name and constructor) and has the public
// JS-facing methods it needs, `Forward`, `Backward` and/or `Update`, each returning a Napi::Value;
// C++ and oneDNN exceptions they throw become JS errors. `PYO_EXPORT_KERNEL(K)` exports it.
#pragma once

#include <type_traits>
#include <utility>
#include <vector>

#include "common.h"

namespace pyo {

// ---- typed options ----
// An options struct names its JS keys once, in `fields(f)`: f("key", member) for each member.
// Every key is required: defaults are resolved in TypeScript (src/engine/defaults.ts) and always
// passed, so the C++ takes what it is given.
struct NoOptions {
  template <typename F>
  void fields(F&&) {}
};

void read_field(const Napi::Object& o, const char* key, double& out, const char* what);
void read_field(const Napi::Object& o, const char* key, float& out, const char* what);
void read_field(const Napi::Object& o, const char* key, int64_t& out, const char* what);
void read_field(const Napi::Object& o, const char* key, bool& out, const char* what);
void read_field(const Napi::Object& o, const char* key, std::string& out, const char* what);

template <typename Item>
void read_field(const Napi::Object& o, const char* key, std::vector<Item>& out, const char* what);

template <typename Options>
Options read_options(const Napi::Value& value, const char* what) {
  Options options{};
  if constexpr (!std::is_same_v<Options, NoOptions>) {
    if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), std::string(what) + ": options must be an object");
    const Napi::Object o = value.As<Napi::Object>();
    options.fields([&](const char* key, auto& member) { read_field(o, key, member, what); });
  }
  return options;
}

// The per-call options of a forward pass that differs between training and evaluation.
struct ForwardMode {
  bool training;
  template <typename F>
  void fields(F f) { f("training", training); }
};

// A list of option structs (an array of objects).
template <typename Item>
void read_field(const Napi::Object& o, const char* key, std::vector<Item>& out, const char* what) {
  const Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string(what) + ": option " + key + " must be an array");
  const Napi::Array items = v.As<Napi::Array>();
  out.clear();
  for (uint32_t i = 0; i < items.Length(); ++i) out.push_back(read_options<Item>(items.Get(i), what));
}

inline void check_same_shape(const TensorPtr& a, const dims& shape, const char* what) {
  if (a->shape != shape) throw std::runtime_error(std::string(what) + ": got " + shape_text(a->shape) + ", expected " + shape_text(shape));
}

// ---- the JS class ----
template <typename T, typename = void>
struct has_forward : std::false_type {};
template <typename T>
struct has_forward<T, std::void_t<decltype(&T::Forward)>> : std::true_type {};
template <typename T, typename = void>
struct has_backward : std::false_type {};
template <typename T>
struct has_backward<T, std::void_t<decltype(&T::Backward)>> : std::true_type {};
template <typename T, typename = void>
struct has_update : std::false_type {};
template <typename T>
struct has_update<T, std::void_t<decltype(&T::Update)>> : std::true_type {};

template <typename Derived, typename Options = NoOptions>
class Kernel : public Napi::ObjectWrap<Derived> {
 public:
  using KernelBase = Kernel;
  explicit Kernel(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Derived>(info), options_(read_options<Options>(info[0], Derived::kName)) {}

  // The JS class with the methods Derived has.
  static Napi::Function Define(Napi::Env env) {
    using Wrap = Napi::ObjectWrap<Derived>;
    std::vector<typename Wrap::PropertyDescriptor> methods;
    if constexpr (has_forward<Derived>::value) methods.push_back(method<&Derived::Forward>("forward"));
    if constexpr (has_backward<Derived>::value) methods.push_back(method<&Derived::Backward>("backward"));
    if constexpr (has_update<Derived>::value) methods.push_back(method<&Derived::Update>("update"));
    return Wrap::DefineClass(env, Derived::kName, methods);
  }

 protected:
  const Options options_;

 private:
  using Method = Napi::Value (Derived::*)(const Napi::CallbackInfo&);

  template <Method M>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    return guarded(info, [&] { return (static_cast<Derived*>(this)->*M)(info); });
  }

  template <Method M>
  static typename Napi::ObjectWrap<Derived>::PropertyDescriptor method(const char* name) {
    return Napi::ObjectWrap<Derived>::InstanceMethod(name, static_cast<Method>(&Kernel::Guarded<M>));
  }
};

// A backward primitive built on first use, with the conversion of the incoming gradient into the
// layout it wants, and the input gradient it writes.
template <typename PrimitiveDesc>
struct BackwardPass {
  bool ready = false;
  PrimitiveDesc pd;
  Exec exec;
  LayoutCache dy_cache;
  Output dx;
};

// Per-shape state: a kernel keeps one Entry per input shape and layout (see EntryCache), and
// remembers the one its last training forward used, which backward reads.
template <typename Derived, typename Entry, typename Options = NoOptions>
class CachingKernel : public Kernel<Derived, Options> {
 public:
  using KernelBase = CachingKernel;
  using Kernel<Derived, Options>::Kernel;

 protected:
  // The entry that `match`es, or a new one from `make`; `training` marks it for backward.
  template <typename Match, typename Make>
  Entry* entry(Match match, Make make, bool training = true) {
    Entry* e = cache_.find_or_make(match, make, last_);
    if (training) last_ = e;
    return e;
  }

  // The entry of the last training forward, for backward.
  Entry* last() const {
    if (!last_) throw std::runtime_error(std::string(Derived::kName) + " backward called before a training forward");
    return last_;
  }

  // The entry of the last training forward, and the output gradient info[0], checked against its output.
  std::pair<Entry*, TensorPtr> gradient_of_last(const Napi::CallbackInfo& info) const {
    static const std::string what = std::string(Derived::kName) + " output gradient";
    Entry* e = last();
    TensorPtr dy = unwrap(info[0], what.c_str());
    check_same_shape(dy, e->y.t->shape, what.c_str());
    return {e, dy};
  }

 private:
  EntryCache<Entry> cache_;
  Entry* last_ = nullptr;
};

// ---- registration ----
using KernelDefinition = Napi::Function (*)(Napi::Env);
std::vector<std::pair<const char*, KernelDefinition>>& kernel_registry();

struct KernelRegistration {
  KernelRegistration(const char* name, KernelDefinition define) { kernel_registry().emplace_back(name, define); }
};

// The first line of a kernel class: its JS name, and the base's constructor (which reads the options).
#define PYO_KERNEL(Class)                    \
 public:                                     \
  static constexpr const char* kName = #Class; \
  using KernelBase::KernelBase;

#define PYO_EXPORT_KERNEL(Class) \
  static const ::pyo::KernelRegistration pyo_registration_##Class(Class::kName, &Class::Define);

}  // namespace pyo
