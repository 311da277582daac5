// Element-wise attention kernels over flat row-major float32 arrays, as tfjs stores tensors:
// q [B,Lq,D], k and v [B,L,D], mask [B,L], states [B,T,D] (T = order + 1; 0 for 'exact').
// Sums and ratios are float64; only stored results are rounded to float32.
#ifndef EW_EA_H
#define EW_EA_H

#include <cstdint>
#include <string>

namespace ew {

// Order of quadratic exact EA (no state).
constexpr int kExact = -1;

struct Dims {
  int64_t batch;
  int64_t queries;
  int64_t keys;
  int64_t channels;
};

inline int stateTerms(int order) { return order == kExact ? 0 : order + 1; }

struct ForwardArgs {
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  const float* initialS;
  const float* initialZ;
  float* y;
  float* finalS;
  float* finalZ;
  Dims dims;
  int order;
  bool causal;
};

struct BackwardArgs {
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  const float* initialS;
  const float* initialZ;
  const float* dy;
  const float* dFinalS;
  const float* dFinalZ;
  float* dq;
  float* dk;
  float* dv;
  float* dInitialS;
  float* dInitialZ;
  Dims dims;
  int order;
  bool causal;
};

struct StepArgs {
  const float* q;
  const float* k;
  const float* v;
  const float* s;
  const float* z;
  float* y;
  float* nextS;
  float* nextZ;
  int64_t batch;
  int64_t channels;
  int order;
};

// Host implementation: std::thread over (batch × channel).
void hostForward(const ForwardArgs& args);
void hostBackward(const BackwardArgs& args);
void hostStep(const StepArgs& args);

// Threads the host implementation uses (EW_THREADS, else the hardware concurrency).
unsigned hostThreads();

#ifdef EW_WITH_CUDA
// Device probe: true with the device name when a CUDA device is usable, else false with the reason.
bool cudaProbe(std::string* device, std::string* reason);
// CUDA implementation: copies inputs to the device once, runs, copies outputs back once.
// Throws std::runtime_error on CUDA errors.
void cudaForward(const ForwardArgs& args);
void cudaBackward(const BackwardArgs& args);
void cudaStep(const StepArgs& args);
#endif

}  // namespace ew

#endif  // EW_EA_H
