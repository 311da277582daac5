// Element-wise attention kernels over flat row-major float32 arrays, as tfjs stores tensors:
// q [B,Lq,D], k and v [B,L,D], mask [B,L], states [B,T,D] (T = order + 1; 0 for 'exact').
// Sums and ratios are float64; only stored results are rounded to float32.
//
// Each kernel takes one record whose fields carry the names of the kernel contract
// (attention's kernel_names.ts); JavaScript passes the same names, so a field is found by its
// name at every crossing, never by its position. forEachScalar and forEachArray list a record's
// fields once, for the binding that fills them and the CUDA path that moves them to the device.
#ifndef EW_EA_H
#define EW_EA_H

#include <cstdint>
#include <string>

namespace ew {

// Order of quadratic exact EA (no state).
constexpr int kExact = -1;

inline int stateTerms(int order) { return order == kExact ? 0 : order + 1; }

struct Dims {
  int64_t batch;
  int64_t queries;
  int64_t keys;
  int64_t channels;
};

// The forward's inputs, sizes and attrs: all the forward reads, and what the backward reads
// besides the upstream gradients.
struct AttentionCall : Dims {
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  const float* initialS;
  const float* initialZ;
  int order;
  bool causal;
};

struct ForwardArgs : AttentionCall {
  float* y;
  float* finalS;
  float* finalZ;
};

struct BackwardArgs : AttentionCall {
  const float* dy;
  const float* dFinalS;
  const float* dFinalZ;
  float* dq;
  float* dk;
  float* dv;
  float* dInitialS;
  float* dInitialZ;
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

// The sizes an array's length follows.
enum class Extent {
  kQueries,  // [B, Lq, D]
  kKeys,     // [B, L, D]
  kMask,     // [B, L]
  kState,    // [B, T, D]
};

// Whether an order attr may be 'exact' (which has no recurrent form).
enum class OrderKind { kSeriesOrExact, kSeries };

// A step is one query and one key per sequence.
inline Dims dimsOf(const AttentionCall& args) { return args; }
inline Dims dimsOf(const StepArgs& args) { return Dims{args.batch, 1, 1, args.channels}; }

inline int64_t elements(Extent extent, const Dims& d, int terms) {
  switch (extent) {
    case Extent::kQueries:
      return d.batch * d.queries * d.channels;
    case Extent::kKeys:
      return d.batch * d.keys * d.channels;
    case Extent::kMask:
      return d.batch * d.keys;
    case Extent::kState:
      return d.batch * terms * d.channels;
  }
  return 0;
}

// Elements of one array of a record, from the sizes and order already in it.
template <typename Args>
int64_t elements(const Args& args, Extent extent) {
  return elements(extent, dimsOf(args), stateTerms(args.order));
}

// The fields of each record: sizes and attrs as visit(name, field) for a size (int64_t&) or causal
// (bool&) and visit(name, order, OrderKind); arrays, inputs then outputs, as
// visit(name, array, Extent) for an input (const float*&) or an output (float*&).
template <typename Visit>
void forEachScalar(AttentionCall& args, Visit& visit) {
  visit("batch", args.batch);
  visit("queries", args.queries);
  visit("keys", args.keys);
  visit("channels", args.channels);
  visit("order", args.order, OrderKind::kSeriesOrExact);
  visit("causal", args.causal);
}

template <typename Visit>
void forEachScalar(StepArgs& args, Visit& visit) {
  visit("batch", args.batch);
  visit("channels", args.channels);
  visit("order", args.order, OrderKind::kSeries);
}

template <typename Visit>
void forEachArray(AttentionCall& args, Visit& visit) {
  visit("q", args.q, Extent::kQueries);
  visit("k", args.k, Extent::kKeys);
  visit("v", args.v, Extent::kKeys);
  visit("mask", args.mask, Extent::kMask);
  visit("initialS", args.initialS, Extent::kState);
  visit("initialZ", args.initialZ, Extent::kState);
}

template <typename Visit>
void forEachArray(ForwardArgs& args, Visit& visit) {
  forEachArray(static_cast<AttentionCall&>(args), visit);
  visit("y", args.y, Extent::kQueries);
  visit("finalS", args.finalS, Extent::kState);
  visit("finalZ", args.finalZ, Extent::kState);
}

template <typename Visit>
void forEachArray(BackwardArgs& args, Visit& visit) {
  forEachArray(static_cast<AttentionCall&>(args), visit);
  visit("dy", args.dy, Extent::kQueries);
  visit("dFinalS", args.dFinalS, Extent::kState);
  visit("dFinalZ", args.dFinalZ, Extent::kState);
  visit("dq", args.dq, Extent::kQueries);
  visit("dk", args.dk, Extent::kKeys);
  visit("dv", args.dv, Extent::kKeys);
  visit("dInitialS", args.dInitialS, Extent::kState);
  visit("dInitialZ", args.dInitialZ, Extent::kState);
}

template <typename Visit>
void forEachArray(StepArgs& args, Visit& visit) {
  visit("q", args.q, Extent::kQueries);
  visit("k", args.k, Extent::kQueries);
  visit("v", args.v, Extent::kQueries);
  visit("s", args.s, Extent::kState);
  visit("z", args.z, Extent::kState);
  visit("y", args.y, Extent::kQueries);
  visit("nextS", args.nextS, Extent::kState);
  visit("nextZ", args.nextZ, Extent::kState);
}

// The kernel contract's name of each record's kernel.
inline const char* kernelName(const ForwardArgs&) { return "ElementwiseAttentionForward"; }
inline const char* kernelName(const BackwardArgs&) { return "ElementwiseAttentionBackward"; }
inline const char* kernelName(const StepArgs&) { return "ElementwiseAttentionStep"; }

// Host implementation: std::thread over (batch × channel).
void runOnHost(const ForwardArgs& args);
void runOnHost(const BackwardArgs& args);
void runOnHost(const StepArgs& args);

// Threads the host implementation uses (EW_THREADS, else the hardware concurrency).
unsigned hostThreads();

#ifdef EW_WITH_CUDA
// Device probe: true with the device name when a CUDA device is usable, else false with the reason.
bool cudaProbe(std::string* device, std::string* reason);
// CUDA implementation: copies inputs to the device once, runs, copies outputs back once.
// Throws std::runtime_error on CUDA errors.
void runOnCuda(const ForwardArgs& args);
void runOnCuda(const BackwardArgs& args);
void runOnCuda(const StepArgs& args);
#endif

}  // namespace ew

#endif  // EW_EA_H
