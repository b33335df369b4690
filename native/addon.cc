// pyocyte's native engine: oneDNN kernels behind N-API. The model, the training loop and every
// decision a reader should see live in TypeScript (src/); this addon only computes.
#include "common.h"

namespace pyo {
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitConv(Napi::Env env, Napi::Object exports);
void InitUpconv(Napi::Env env, Napi::Object exports);
void InitPool(Napi::Env env, Napi::Object exports);
void InitNorm(Napi::Env env, Napi::Object exports);
void InitEltwise(Napi::Env env, Napi::Object exports);
void InitConcat(Napi::Env env, Napi::Object exports);
void InitLoss(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
}  // namespace pyo

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  pyo::InitRuntime(env, exports);
  pyo::InitConv(env, exports);
  pyo::InitUpconv(env, exports);
  pyo::InitPool(env, exports);
  pyo::InitNorm(env, exports);
  pyo::InitEltwise(env, exports);
  pyo::InitConcat(env, exports);
  pyo::InitLoss(env, exports);
  pyo::InitOptim(env, exports);
  return exports;
}

NODE_API_MODULE(pyocyte, Init)
