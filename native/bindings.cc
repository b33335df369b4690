// Engine-level functions for JS: tensors, read/write, sync, threads, statistics.
#include <cstring>

#include "common.h"
#include "kernel.h"

namespace pyo {

void set_compute_threads(int threads);
int compute_threads();
void stop_queue();

// ---- tensors ----
Napi::FunctionReference& tensor_constructor() {
  static Napi::FunctionReference ctor;
  return ctor;
}

Napi::Function JsTensor::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "Tensor",
                                 {InstanceAccessor<&JsTensor::Shape>("shape"),
                                  InstanceAccessor<&JsTensor::Layout>("layout")});
  tensor_constructor() = Napi::Persistent(f);
  return f;
}

JsTensor::JsTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsTensor>(info) {}
JsTensor::~JsTensor() = default;

Napi::Object JsTensor::Wrap(Napi::Env env, const TensorPtr& impl) {
  Napi::Object object = tensor_constructor().New({});
  JsTensor* wrapper = JsTensor::Unwrap(object);
  wrapper->impl = impl;
  Napi::Array shape = Napi::Array::New(env, impl->shape.size());
  for (size_t i = 0; i < impl->shape.size(); ++i) shape.Set(i, Napi::Number::New(env, static_cast<double>(impl->shape[i])));
  env.Global().Get("Object").As<Napi::Object>().Get("freeze").As<Napi::Function>().Call({shape});
  wrapper->shape_ = Napi::Persistent(shape);
  return object;
}

Napi::Value JsTensor::Shape(const Napi::CallbackInfo&) { return shape_.Value(); }

Napi::Value JsTensor::Layout(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), impl ? describe(impl->mem.get_desc()) : "empty");
}

TensorPtr unwrap(const Napi::Value& value, const char* what) {
  if (value.IsObject() && value.As<Napi::Object>().InstanceOf(tensor_constructor().Value())) {
    auto impl = JsTensor::Unwrap(value.As<Napi::Object>())->impl;
    if (impl) return impl;
  }
  throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a tensor of the native engine");
}

TensorPtr unwrap_optional(const Napi::Value& value, const char* what) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  return unwrap(value, what);
}

dims shape_of(const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), "shape must be an array of positive integers");
  Napi::Array array = value.As<Napi::Array>();
  dims shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    double d = array.Get(i).As<Napi::Number>().DoubleValue();
    if (!(d >= 1) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::TypeError::New(value.Env(), "shape must be an array of positive integers");
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

// ---- kernel options and registration (kernel.h) ----
namespace {
Napi::Value required(const Napi::Object& o, const char* key, bool ok(const Napi::Value&), const char* type, const char* what) {
  Napi::Value v = o.Get(key);
  if (!ok(v)) throw Napi::TypeError::New(o.Env(), std::string(what) + ": option " + key + " must be " + type);
  return v;
}
bool is_number(const Napi::Value& v) { return v.IsNumber(); }
bool is_boolean(const Napi::Value& v) { return v.IsBoolean(); }
bool is_string(const Napi::Value& v) { return v.IsString(); }
}  // namespace

void read_field(const Napi::Object& o, const char* key, double& out, const char* what) {
  out = required(o, key, is_number, "a number", what).As<Napi::Number>().DoubleValue();
}
void read_field(const Napi::Object& o, const char* key, float& out, const char* what) {
  double wide;
  read_field(o, key, wide, what);
  out = static_cast<float>(wide);
}
void read_field(const Napi::Object& o, const char* key, int64_t& out, const char* what) {
  double wide;
  read_field(o, key, wide, what);
  out = static_cast<int64_t>(wide);
}
void read_field(const Napi::Object& o, const char* key, bool& out, const char* what) {
  out = required(o, key, is_boolean, "a boolean", what).As<Napi::Boolean>().Value();
}
void read_field(const Napi::Object& o, const char* key, std::string& out, const char* what) {
  out = required(o, key, is_string, "a string", what).As<Napi::String>().Utf8Value();
}

std::vector<std::pair<const char*, KernelDefinition>>& kernel_registry() {
  static std::vector<std::pair<const char*, KernelDefinition>> registry;
  return registry;
}

// ---- completions: promises resolved from the compute thread ----
namespace {
struct Completion {
  Napi::Promise::Deferred deferred;
  TensorPtr tensor;  // set for reads
  std::vector<float> data;
  std::string error;
  explicit Completion(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

Napi::ThreadSafeFunction completions;
int pending_completions = 0;

void resolve_on_js(Napi::Env env, Napi::Function, Completion* c) {
  if (!c->error.empty()) {
    c->deferred.Reject(Napi::Error::New(env, "native engine: " + c->error).Value());
  } else if (c->tensor) {
    auto array = Napi::Float32Array::New(env, c->data.size());
    std::memcpy(array.Data(), c->data.data(), c->data.size() * sizeof(float));
    c->deferred.Resolve(array);
  } else {
    c->deferred.Resolve(env.Undefined());
  }
  delete c;
  if (--pending_completions == 0) completions.Unref(env);
}

void run_completion(Completion* c) {
  c->error = take_error();
  if (c->error.empty() && c->tensor) {
    try {
      c->data.resize(static_cast<size_t>(c->tensor->elements()));
      memory plain(c->tensor->plain, cpu(), c->data.data());
      dnnl::reorder(c->tensor->mem, plain).execute(compute_stream(), c->tensor->mem, plain);
    } catch (const std::exception& e) {
      c->error = e.what();
    }
  }
  compute_stream().wait();
  completions.NonBlockingCall(c, resolve_on_js);
}

Napi::Value queue_completion(Napi::Env env, const TensorPtr& tensor) {
  auto* c = new Completion(env);
  c->tensor = tensor;
  Napi::Promise promise = c->deferred.Promise();
  if (pending_completions++ == 0) completions.Ref(env);
  enqueue(Job("read", [c] { run_completion(c); }));
  return promise;
}

void run_upload(TensorImpl& t) {
  t.upload->run();
  t.pending_uploads -= 1;
}
}  // namespace

// Copies JS data into the tensor's staging buffer and queues the reorder into its layout.
void write_tensor(Napi::Env env, const TensorPtr& t, const Napi::Value& value) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, "write needs a Float32Array");
  }
  auto data = value.As<Napi::Float32Array>();
  if (static_cast<int64_t>(data.ElementLength()) != t->elements()) {
    throw Napi::RangeError::New(env, "write: " + std::to_string(data.ElementLength()) +
                                         " values for a tensor of shape " + shape_text(t->shape));
  }
  if (t->pending_uploads > 0) wait_idle();
  if (!t->staging) t->staging = std::make_shared<Buffer>(static_cast<size_t>(t->elements()) * sizeof(float));
  if (!t->staging_mem || t->staging_mem.get_desc() != t->plain) t->staging_mem = memory(t->plain, cpu(), t->staging->ptr);
  std::memcpy(t->staging->ptr, data.Data(), data.ByteLength());
  if (!t->upload || t->upload_for != t->mem.get_desc() || t->upload->args.at(DNNL_ARG_FROM).get() != t->staging_mem.get()) {
    auto exec = std::make_shared<Exec>();
    const auto pd = dnnl::reorder::primitive_desc(t->staging_mem, t->mem, scratch_attr());
    exec->init(dnnl::reorder(pd), pd, "upload");
    exec->args[DNNL_ARG_FROM] = t->staging_mem;
    exec->args[DNNL_ARG_TO] = t->mem;
    t->upload = exec;
    t->upload_for = t->mem.get_desc();
  }
  t->pending_uploads += 1;
  enqueue(Job("upload", [t] { run_upload(*t); }));
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    write_tensor(info.Env(), unwrap(info[0], "write target"), info[1]);
    return info.Env().Undefined();
  });
}

Napi::Value Tensor(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    dims shape = shape_of(info[0]);
    TensorPtr t = make_tensor(shape, plain_md(shape));
    if (info.Length() > 1 && !info[1].IsUndefined()) write_tensor(info.Env(), t, info[1]);
    return JsTensor::Wrap(info.Env(), t);
  });
}

Napi::Value ZerosLike(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return JsTensor::Wrap(info.Env(), make_tensor_like(unwrap(info[0], "zerosLike input"))); });
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return queue_completion(info.Env(), unwrap(info[0], "read source")); });
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return queue_completion(info.Env(), nullptr); });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be at least 1");
  set_compute_threads(n);
  return info.Env().Undefined();
}

Napi::Value SetPrecision(const Napi::CallbackInfo& info) {
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name != "fp32" && name != "bf16") throw Napi::RangeError::New(info.Env(), "precision must be fp32 or bf16");
  set_activation_type(name == "bf16" ? dt::bf16 : dt::f32);
  return info.Env().Undefined();
}

Napi::Value SetProfiling(const Napi::CallbackInfo& info) {
  set_profiling(info[0].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value TakeProfile(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  for (const auto& [label, entry] : take_profile()) {
    Napi::Object e = Napi::Object::New(info.Env());
    e.Set("calls", static_cast<double>(entry.calls));
    e.Set("seconds", entry.seconds);
    e.Set("flops", entry.flops);
    o.Set(label, e);
  }
  return o;
}

Napi::Value Implementations(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  for (const auto& [label, names] : primitive_implementations()) {
    Napi::Array list = Napi::Array::New(info.Env(), names.size());
    uint32_t i = 0;
    for (const auto& name : names) list.Set(i++, name);
    o.Set(label, list);
  }
  return o;
}

Napi::Value GetStats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("allocations", static_cast<double>(stats().allocations.load()));
  o.Set("bytes", static_cast<double>(stats().bytes.load()));
  return o;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  static const char* isa_names[] = {"all", "sse41", "avx", "avx2", "avx512_mic", "avx512_mic_4ops", "avx512_core",
                                    "avx512_core_vnni", "avx512_core_bf16", "avx512_core_amx", "avx2_vnni"};
  Napi::Object o = Napi::Object::New(info.Env());
  const dnnl_version_t* v = dnnl_version();
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  std::string isa = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = isa_names[1]; break;
    case dnnl::cpu_isa::avx: isa = isa_names[2]; break;
    case dnnl::cpu_isa::avx2: isa = isa_names[3]; break;
    case dnnl::cpu_isa::avx512_core: isa = isa_names[6]; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = isa_names[7]; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = isa_names[8]; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = isa_names[9]; break;
    case dnnl::cpu_isa::avx2_vnni: isa = isa_names[10]; break;
    default: break;
  }
  o.Set("isa", isa);
  o.Set("threads", compute_threads());
  o.Set("precision", activation_type() == dt::bf16 ? "bf16" : "fp32");
  // bf16 arithmetic in hardware (not emulated): AVX-512 BF16 or AMX.
  const auto effective = dnnl::get_effective_cpu_isa();
  o.Set("bf16Native", effective == dnnl::cpu_isa::avx512_core_bf16 || effective == dnnl::cpu_isa::avx512_core_amx);
  return o;
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("Tensor", JsTensor::Init(env));
  exports.Set("tensor", Napi::Function::New(env, Tensor));
  exports.Set("zerosLike", Napi::Function::New(env, ZerosLike));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("stats", Napi::Function::New(env, GetStats));
  exports.Set("setProfiling", Napi::Function::New(env, SetProfiling));
  exports.Set("setPrecision", Napi::Function::New(env, SetPrecision));
  exports.Set("takeProfile", Napi::Function::New(env, TakeProfile));
  exports.Set("implementations", Napi::Function::New(env, Implementations));
  exports.Set("info", Napi::Function::New(env, Info));
  completions = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                              "pyocyte-completions", 0, 1);
  completions.Unref(env);
  env.AddCleanupHook([] {
    stop_queue();
    completions.Abort();
  });
}

}  // namespace pyo
