// Small helpers shared by the kernel classes.
#pragma once
#include "common.h"

namespace pyo {

#define PYO_CLASS(Name)                                              \
  explicit Name(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Name>(info) { configure(info); } \
  ~Name() override = default;

template <typename Entry>
Entry* need_last(Entry* e, const char* kernel) {
  if (!e) throw std::runtime_error(std::string(kernel) + " backward called before a training forward");
  return e;
}

inline void check_same_shape(const TensorPtr& a, const dims& shape, const char* what) {
  if (a->shape != shape) throw std::runtime_error(std::string(what) + ": got " + shape_text(a->shape) + ", expected " + shape_text(shape));
}

}  // namespace pyo
