// N-API binding: each kernel takes one record of named fields (the kernel contract's names:
// Float32Array inputs and outputs, sizes, attrs) and writes into the record's output arrays.
// The device is chosen once, when the addon loads.
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ea.h"
#include "ea_math.h"

#ifndef EW_SOURCE_HASH
#define EW_SOURCE_HASH "unknown"
#endif

namespace {

struct Selection {
  bool cuda = false;
  std::string device;
  std::string reason;
  std::string mode;  // EW_CUDA: "auto", "force" or "off"
};

Selection select() {
  Selection s;
  const char* env = std::getenv("EW_CUDA");
  s.mode = env == nullptr || env[0] == '\0' ? "auto" : env;
  if (s.mode == "off") {
    s.reason = "EW_CUDA=off";
    return s;
  }
#ifdef EW_WITH_CUDA
  s.cuda = ew::cudaProbe(&s.device, &s.reason);
#else
  s.reason = "addon built without CUDA (nvcc was not found at build time)";
#endif
  return s;
}

Selection& selection() {
  static Selection s = select();
  return s;
}

// What a JavaScript value is, for an error message: its value, or its constructor (and length).
std::string describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsNumber()) return "the number " + value.ToString().Utf8Value();
  if (value.IsString()) return "the string '" + value.As<Napi::String>().Utf8Value() + "'";
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? "true" : "false";
  if (!value.IsObject()) return "a " + std::string(value.IsFunction() ? "function" : "symbol");
  const Napi::Value constructor = value.As<Napi::Object>().Get("constructor");
  const Napi::Value name =
      constructor.IsFunction() ? constructor.As<Napi::Object>().Get("name") : Napi::Value();
  std::string what = name.IsString() ? "a " + name.As<Napi::String>().Utf8Value() : "an object";
  if (value.IsTypedArray()) {
    what += " of " + std::to_string(value.As<Napi::TypedArray>().ElementLength()) + " elements";
  }
  return what;
}

// Fills a kernel's record (ea.h) from the one JavaScript object the kernel is called with, field
// by field under the contract's names: sizes and attrs first (forEachScalar), so each array's
// expected length is known when it is read (forEachArray). A field that is missing or of the wrong type
// or length throws an error naming the kernel, the field, what was expected and what was given.
template <typename Args>
class RecordReader {
 public:
  RecordReader(const Napi::CallbackInfo& info, Args& args) : env_(info.Env()), args_(args) {
    if (info.Length() != 1 || !info[0].IsObject() || info[0].IsArray() ||
        info[0].IsTypedArray()) {
      const std::string first = info.Length() > 0 ? ", the first " + describe(info[0]) : "";
      throw Napi::TypeError::New(env_, std::string(ew::kernelName(args)) +
                                           ": expected one record of named fields, got " +
                                           std::to_string(info.Length()) + " argument(s)" + first);
    }
    record_ = info[0].As<Napi::Object>();
  }

  void operator()(const char* name, int64_t& size) {
    const Napi::Value value = record_.Get(name);
    const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
    // 2^53: every integer up to it is a double, and the cast below cannot overflow.
    if (!(number >= 0 && number <= 9007199254740992.0 &&
          number == static_cast<double>(static_cast<int64_t>(number)))) {
      refuse(name, "a non-negative integer");
    }
    size = static_cast<int64_t>(number);
  }

  // An even integer >= 0, or 'exact' where the kernel has that form.
  void operator()(const char* name, int& order, ew::OrderKind kind) {
    const Napi::Value value = record_.Get(name);
    const bool exactAllowed = kind == ew::OrderKind::kSeriesOrExact;
    if (exactAllowed && value.IsString() && value.As<Napi::String>().Utf8Value() == "exact") {
      order = ew::kExact;
      return;
    }
    const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
    if (!(number >= 0 && number <= 1e6 && number == static_cast<double>(static_cast<int>(number)) &&
          static_cast<int>(number) % 2 == 0)) {
      refuse(name, exactAllowed ? "an even integer >= 0 or 'exact'" : "an even integer >= 0");
    }
    order = static_cast<int>(number);
  }

  void operator()(const char* name, bool& flag) {
    const Napi::Value value = record_.Get(name);
    if (!value.IsBoolean()) refuse(name, "a boolean");
    flag = value.As<Napi::Boolean>().Value();
  }

  void operator()(const char* name, const float*& array, ew::Extent extent) {
    array = float32(name, extent);
  }

  void operator()(const char* name, float*& array, ew::Extent extent) {
    array = float32(name, extent);
  }

  // Throws with the kernel's name, the field, what was expected and what was given.
  [[noreturn]] void refuse(const char* name, const std::string& expected) const {
    const std::string what = record_.Has(name) ? describe(record_.Get(name)) : "no such field";
    throw Napi::TypeError::New(env_, std::string(ew::kernelName(args_)) + ": field '" + name +
                                         "' must be " + expected + ", got " + what);
  }

 private:
  // One napi_get_typedarray_info call: a step is short enough for each call to count.
  float* float32(const char* name, ew::Extent extent) {
    const Napi::Value value = record_.Get(name);
    const int64_t expected = ew::elements(args_, extent);
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void* data = nullptr;
    if (!value.IsTypedArray() ||
        napi_get_typedarray_info(env_, value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
        type != napi_float32_array || static_cast<int64_t>(length) != expected) {
      refuse(name, "a Float32Array of " + std::to_string(expected) + " elements");
    }
    return static_cast<float*>(data);
  }

  Napi::Env env_;
  Args& args_;
  Napi::Object record_;
};

#ifdef EW_WITH_CUDA
bool onDevice(int order) {
  return selection().cuda && ew::stateTerms(order) <= ew::kMaxDeviceTerms;
}
#endif

// forward, backward and step: one record in, outputs written into the record's output arrays.
template <typename Args>
void RunKernel(const Napi::CallbackInfo& info) {
  Args args{};
  RecordReader<Args> reader(info, args);
  ew::forEachScalar(args, reader);
  if constexpr (std::is_base_of_v<ew::AttentionCall, Args>) {
    if (args.causal && args.queries != args.keys) {
      reader.refuse("queries", "equal to keys (" + std::to_string(args.keys) + ") when causal");
    }
  }
  ew::forEachArray(args, reader);
  try {
#ifdef EW_WITH_CUDA
    if (onDevice(args.order)) return ew::runOnCuda(args);
#endif
    ew::runOnHost(args);
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), error.what());
  }
}

// The names each kernel's record is read under, in the contract's order (attention's
// kernelRecordFields): inputs, outputs, sizes, attrs.
template <typename Args>
Napi::Array fieldNames(Napi::Env env) {
  Args args{};
  Napi::Array names = Napi::Array::New(env);
  auto collect = [&](const char* name, auto&&...) { names.Set(names.Length(), name); };
  ew::forEachArray(args, collect);
  ew::forEachScalar(args, collect);
  return names;
}

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  const Selection& s = selection();
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("path", s.cuda ? "cuda" : "host");
  if (s.cuda) result.Set("device", s.device);
  result.Set("reason", s.reason);
  result.Set("mode", s.mode);
#ifdef EW_WITH_CUDA
  result.Set("builtWithCuda", true);
#else
  result.Set("builtWithCuda", false);
#endif
  result.Set("hostThreads", static_cast<double>(ew::hostThreads()));
  result.Set("maxDeviceOrder", ew::kMaxDeviceTerms - 2);
  result.Set("sourceHash", EW_SOURCE_HASH);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  selection();
  exports.Set("forward", Napi::Function::New(env, RunKernel<ew::ForwardArgs>, "forward"));
  exports.Set("backward", Napi::Function::New(env, RunKernel<ew::BackwardArgs>, "backward"));
  exports.Set("step", Napi::Function::New(env, RunKernel<ew::StepArgs>, "step"));
  Napi::Object fields = Napi::Object::New(env);
  fields.Set("forward", fieldNames<ew::ForwardArgs>(env));
  fields.Set("backward", fieldNames<ew::BackwardArgs>(env));
  fields.Set("step", fieldNames<ew::StepArgs>(env));
  exports.Set("fields", fields);
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ew_cuda, Init)
