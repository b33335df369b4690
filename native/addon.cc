// pyocyte's native engine: oneDNN kernels behind N-API. The model, the training loop and every
// decision a reader should see live in TypeScript (src/); this addon only computes.
#include "common.h"
#include "kernel.h"

namespace pyo {
void InitRuntime(Napi::Env env, Napi::Object exports);
}  // namespace pyo

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  pyo::InitRuntime(env, exports);
  // Every kernel class, registered by PYO_EXPORT_KERNEL in its own file.
  for (const auto& [name, define] : pyo::kernel_registry()) exports.Set(name, define(env));
  return exports;
}

NODE_API_MODULE(pyocyte, Init)
