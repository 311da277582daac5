// N-API binding: kernels take Float32Arrays, dims and attrs, and write into provided
// Float32Arrays. The device is chosen once, when the addon loads.
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

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

const float* input(const Napi::CallbackInfo& info, size_t index, size_t length, const char* name) {
  if (!info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  }
  Napi::Float32Array array = info[index].As<Napi::Float32Array>();
  if (array.ElementLength() != length) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must have " +
                                                std::to_string(length) + " elements, got " +
                                                std::to_string(array.ElementLength()));
  }
  return array.Data();
}

float* output(const Napi::CallbackInfo& info, size_t index, size_t length, const char* name) {
  return const_cast<float*>(input(info, index, length, name));
}

int64_t integer(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (!info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  const double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= 0) || value != static_cast<double>(static_cast<int64_t>(value))) {
    throw Napi::RangeError::New(info.Env(),
                                std::string(name) + " must be a non-negative integer");
  }
  return static_cast<int64_t>(value);
}

// The order attr: an even integer >= 0, or -1 for 'exact' (when allowed).
int order(const Napi::CallbackInfo& info, size_t index, bool allowExact) {
  if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), "order must be a number");
  const double value = info[index].As<Napi::Number>().DoubleValue();
  if (allowExact && value == ew::kExact) return ew::kExact;
  if (!(value >= 0) || value > 1e6 || value != static_cast<double>(static_cast<int>(value)) ||
      static_cast<int>(value) % 2 != 0) {
    throw Napi::RangeError::New(info.Env(), "order must be an even integer >= 0" +
                                                std::string(allowExact ? " or -1 (exact)" : ""));
  }
  return static_cast<int>(value);
}

bool onDevice(int order) {
  return selection().cuda && ew::stateTerms(order) <= ew::kMaxDeviceTerms;
}

void checkArgs(const Napi::CallbackInfo& info, size_t count) {
  if (info.Length() != count) {
    throw Napi::TypeError::New(info.Env(), "expected " + std::to_string(count) + " arguments");
  }
}

template <typename Run>
void guarded(const Napi::CallbackInfo& info, Run run) {
  try {
    run();
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), error.what());
  }
}

// forward(q, k, v, mask, initialS, initialZ, y, finalS, finalZ, B, Lq, L, D, order, causal)
void Forward(const Napi::CallbackInfo& info) {
  checkArgs(info, 15);
  ew::Dims d{integer(info, 9, "B"), integer(info, 10, "Lq"), integer(info, 11, "L"),
             integer(info, 12, "D")};
  const int t = order(info, 13, true);
  const bool causal = info[14].ToBoolean().Value();
  if (causal && d.queries != d.keys) throw Napi::RangeError::New(info.Env(), "causal needs Lq == L");
  const size_t qSize = d.batch * d.queries * d.channels;
  const size_t kSize = d.batch * d.keys * d.channels;
  const size_t stateSize = d.batch * ew::stateTerms(t) * d.channels;
  ew::ForwardArgs args{input(info, 0, qSize, "q"),
                       input(info, 1, kSize, "k"),
                       input(info, 2, kSize, "v"),
                       input(info, 3, d.batch * d.keys, "mask"),
                       input(info, 4, stateSize, "initialS"),
                       input(info, 5, stateSize, "initialZ"),
                       output(info, 6, qSize, "y"),
                       output(info, 7, stateSize, "finalS"),
                       output(info, 8, stateSize, "finalZ"),
                       d,
                       t,
                       causal};
  guarded(info, [&] {
#ifdef EW_WITH_CUDA
    if (onDevice(t)) return ew::cudaForward(args);
#endif
    ew::hostForward(args);
  });
}

// backward(q, k, v, mask, initialS, initialZ, dy, dFinalS, dFinalZ,
//          dq, dk, dv, dInitialS, dInitialZ, B, Lq, L, D, order, causal)
void Backward(const Napi::CallbackInfo& info) {
  checkArgs(info, 20);
  ew::Dims d{integer(info, 14, "B"), integer(info, 15, "Lq"), integer(info, 16, "L"),
             integer(info, 17, "D")};
  const int t = order(info, 18, true);
  const bool causal = info[19].ToBoolean().Value();
  if (causal && d.queries != d.keys) throw Napi::RangeError::New(info.Env(), "causal needs Lq == L");
  const size_t qSize = d.batch * d.queries * d.channels;
  const size_t kSize = d.batch * d.keys * d.channels;
  const size_t stateSize = d.batch * ew::stateTerms(t) * d.channels;
  ew::BackwardArgs args{input(info, 0, qSize, "q"),
                        input(info, 1, kSize, "k"),
                        input(info, 2, kSize, "v"),
                        input(info, 3, d.batch * d.keys, "mask"),
                        input(info, 4, stateSize, "initialS"),
                        input(info, 5, stateSize, "initialZ"),
                        input(info, 6, qSize, "dy"),
                        input(info, 7, stateSize, "dFinalS"),
                        input(info, 8, stateSize, "dFinalZ"),
                        output(info, 9, qSize, "dq"),
                        output(info, 10, kSize, "dk"),
                        output(info, 11, kSize, "dv"),
                        output(info, 12, stateSize, "dInitialS"),
                        output(info, 13, stateSize, "dInitialZ"),
                        d,
                        t,
                        causal};
  guarded(info, [&] {
#ifdef EW_WITH_CUDA
    if (onDevice(t)) return ew::cudaBackward(args);
#endif
    ew::hostBackward(args);
  });
}

// step(q, k, v, s, z, y, nextS, nextZ, B, D, order)
void Step(const Napi::CallbackInfo& info) {
  checkArgs(info, 11);
  const int64_t batch = integer(info, 8, "B");
  const int64_t channels = integer(info, 9, "D");
  const int t = order(info, 10, false);
  const size_t rowSize = batch * channels;
  const size_t stateSize = rowSize * ew::stateTerms(t);
  ew::StepArgs args{input(info, 0, rowSize, "q"),     input(info, 1, rowSize, "k"),
                    input(info, 2, rowSize, "v"),     input(info, 3, stateSize, "s"),
                    input(info, 4, stateSize, "z"),   output(info, 5, rowSize, "y"),
                    output(info, 6, stateSize, "nextS"), output(info, 7, stateSize, "nextZ"),
                    batch,                            channels,
                    t};
  guarded(info, [&] {
#ifdef EW_WITH_CUDA
    if (onDevice(t)) return ew::cudaStep(args);
#endif
    ew::hostStep(args);
  });
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
  exports.Set("forward", Napi::Function::New(env, Forward, "forward"));
  exports.Set("backward", Napi::Function::New(env, Backward, "backward"));
  exports.Set("step", Napi::Function::New(env, Step, "step"));
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ew_cuda, Init)
