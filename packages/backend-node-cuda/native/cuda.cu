// CUDA implementation of element-wise attention. Each call copies its inputs to the device once,
// runs, and copies its outputs back once; float64 accumulators throughout.
//
// Series orders, one thread block per (batch, channel) sequence of length L:
// - non-causal: block reductions over L of the moments (and, backward, of the adjoints);
// - causal: a chunked parallel scan. Thread t owns keys [t·C, (t+1)·C); it sums its chunk, the
//   chunk sums are scanned (one thread per moment, over the chunks), and each thread then walks
//   its chunk from its carry. The backward pass adds the same scan in reverse (suffix sums).
// Exact EA: one thread per (batch, query, channel), and one per (batch, key, channel) for ∂k, ∂v.
// Step: one thread per (batch, channel).
// The causal kernels need float64 scratch per sequence (chunk sums; α, β per query in the
// backward pass); inputs whose scratch exceeds kScratchBytes run as several launches.
#ifdef EW_CUDA_EMULATION
#include "cuda_emulation.h"
#else
#include <cuda_runtime.h>
#define EW_LAUNCH(kernel, grid, block, ...) kernel<<<(grid), (block)>>>(__VA_ARGS__)
#endif

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ea.h"
#include "ea_math.h"

namespace ew {
namespace {

constexpr int kThreads = 128;

__device__ inline int64_t smaller(int64_t x, int64_t y) { return x < y ? x : y; }

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status) +
                             " (error " + std::to_string(static_cast<int>(status)) + ")");
  }
}

// A device buffer released on scope exit.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count_ > 0) check(cudaMalloc(&data_, count_ * sizeof(T)), "cudaMalloc");
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }
  void copyFrom(const T* host) {
    if (count_ > 0) {
      check(cudaMemcpy(data_, host, count_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
    }
  }
  void copyTo(T* host) const {
    if (count_ > 0) {
      check(cudaMemcpy(host, data_, count_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy");
    }
  }

 private:
  T* data_ = nullptr;
  size_t count_;
};

// Sum of x over the block, returned to every thread. `scratch` holds kThreads doubles.
__device__ double blockSum(double x, double* scratch) {
  scratch[threadIdx.x] = x;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = scratch[0];
  __syncthreads();
  return total;
}

// Scratch of the causal series kernels and where a launch starts: per sequence, kThreads + 1
// chunk sums of 2·terms doubles each (the last holds the totals), and α, β of every key.
struct SeriesLaunch {
  double* chunks;
  double* alphas;
  double* betas;
  int terms;
  // first (batch, channel) sequence of this launch; block x runs sequence first + x
  int64_t first;
};

// Sequence (b, c) of the block; element i of a [B, rows, D] array.
struct Seq {
  int64_t b;
  int64_t c;
  int64_t D;
  __device__ int64_t at(int64_t rows, int64_t i) const { return (b * rows + i) * D + c; }
};

__device__ bool visible(const AttentionCall& p, const Seq& s, int64_t j) {
  return p.mask[s.b * p.keys + j] != 0.0f;
}

// Adds the visible keys begin, begin + stride, … before end to S, Z.
__device__ void addKeys(const AttentionCall& p, const Seq& s, int64_t begin, int64_t end,
                        int64_t stride, double* S, double* Z, int terms) {
  for (int64_t j = begin; j < end; j += stride) {
    if (visible(p, s, j)) addKey(S, Z, p.k[s.at(p.keys, j)], p.v[s.at(p.keys, j)], terms);
  }
}

// X, Y summed over the block, plus the state startX, startY ([B,T,D] arrays).
__device__ void blockTotals(double* X, double* Y, const float* startX, const float* startY,
                            const Seq& s, int terms, double* scratch) {
  for (int n = 0; n < terms; ++n) {
    X[n] = blockSum(X[n], scratch) + startX[s.at(terms, n)];
    Y[n] = blockSum(Y[n], scratch) + startY[s.at(terms, n)];
  }
}

// Exclusive scan of the chunk sums of this sequence, in place: thread n < 2·terms scans moment n
// over the chunks; the totals go to chunk kThreads. Forward or reverse.
__device__ void scanChunks(double* chunks, int terms, bool reverse) {
  const int width = 2 * terms;
  const int n = threadIdx.x;
  if (n < width) {
    double running = 0.0;
    for (int t = 0; t < kThreads; ++t) {
      const int chunk = reverse ? kThreads - 1 - t : t;
      const double here = chunks[chunk * width + n];
      chunks[chunk * width + n] = running;
      running += here;
    }
    chunks[kThreads * width + n] = running;
  }
  __syncthreads();
}

// Loads X, Y with startX, startY plus the sums of chunk `chunk` (kThreads: the totals).
__device__ void loadChunk(const double* chunks, int64_t chunk, double* X, double* Y,
                          const float* startX, const float* startY, const Seq& s, int terms) {
  const int width = 2 * terms;
  for (int n = 0; n < terms; ++n) {
    X[n] = startX[s.at(terms, n)] + chunks[chunk * width + n];
    Y[n] = startY[s.at(terms, n)] + chunks[chunk * width + terms + n];
  }
}

// Each thread's X, Y hold the sums over its chunk; afterwards they hold startX, startY plus the
// sums over the chunks before it (after it when reverse), and the chunks hold the totals.
__device__ void scanMoments(double* chunks, double* X, double* Y, const float* startX,
                            const float* startY, const Seq& s, int terms, bool reverse) {
  const int width = 2 * terms;
  __syncthreads();  // every thread has read its carry of an earlier scan
  for (int n = 0; n < terms; ++n) {
    chunks[threadIdx.x * width + n] = X[n];
    chunks[threadIdx.x * width + terms + n] = Y[n];
  }
  __syncthreads();
  scanChunks(chunks, terms, reverse);
  loadChunk(chunks, threadIdx.x, X, Y, startX, startY, s, terms);
}

// A series kernel's thread: its block's sequence, the Taylor coefficients, the moments S, Z it
// has summed so far, and the block's chunk sums (causal only).
struct SeriesThread {
  Seq s;
  int terms;
  double* chunks;
  double a[kMaxDeviceTerms];
  double S[kMaxDeviceTerms];
  double Z[kMaxDeviceTerms];

  __device__ SeriesThread(const AttentionCall& p, const SeriesLaunch& launch)
      : terms(launch.terms), chunks(nullptr) {
    const int64_t sequence = launch.first + static_cast<int64_t>(blockIdx.x);
    s = Seq{sequence / p.channels, sequence % p.channels, p.channels};
    if (p.causal) {
      chunks = launch.chunks + static_cast<int64_t>(blockIdx.x) * (kThreads + 1) * 2 * terms;
    }
    taylorCoefficients(a, terms);
    for (int n = 0; n < terms; ++n) S[n] = Z[n] = 0.0;
  }
};

// Keys (causal) or queries (non-causal) [begin, end) in steps of stride that this thread owns.
struct Span {
  int64_t begin;
  int64_t end;
  int64_t stride;
};

// Non-causal: S, Z become the moments of every visible key plus the initial state, and the
// threads share the queries. Causal: thread t owns the chunk [t·C, (t+1)·C) of the keys, and S, Z
// become the moments before it; the chunks keep the totals.
__device__ Span momentsBeforeQueries(const AttentionCall& p, SeriesThread& t, double* scratch) {
  if (!p.causal) {
    addKeys(p, t.s, threadIdx.x, p.keys, kThreads, t.S, t.Z, t.terms);
    blockTotals(t.S, t.Z, p.initialS, p.initialZ, t.s, t.terms, scratch);
    return Span{threadIdx.x, p.queries, kThreads};
  }
  const int64_t size = (p.keys + kThreads - 1) / kThreads;
  const int64_t begin = smaller(p.keys, static_cast<int64_t>(threadIdx.x) * size);
  const int64_t end = smaller(p.keys, begin + size);
  addKeys(p, t.s, begin, end, 1, t.S, t.Z, t.terms);
  scanMoments(t.chunks, t.S, t.Z, p.initialS, p.initialZ, t.s, t.terms, false);
  return Span{begin, end, 1};
}

// Runs query(i, at) for the queries of this thread's span, with S, Z the moments query i sees.
template <typename Query>
__device__ void walkQueries(const AttentionCall& p, SeriesThread& t, const Span& span,
                            Query query) {
  for (int64_t i = span.begin; i < span.end; i += span.stride) {
    const int64_t at = t.s.at(p.queries, i);
    if (p.causal && visible(p, t.s, i)) addKey(t.S, t.Z, p.k[at], p.v[at], t.terms);
    query(i, at);
  }
}

// Thread 0 stores a sequence's state X, Y into [B,T,D] arrays.
__device__ void storeState(float* toX, float* toY, const double* X, const double* Y, const Seq& s,
                           int terms) {
  if (threadIdx.x != 0) return;
  for (int n = 0; n < terms; ++n) {
    toX[s.at(terms, n)] = static_cast<float>(X[n]);
    toY[s.at(terms, n)] = static_cast<float>(Y[n]);
  }
}

__global__ void seriesForwardKernel(ForwardArgs p, SeriesLaunch launch) {
  __shared__ double scratch[kThreads];
  SeriesThread t(p, launch);
  const Span span = momentsBeforeQueries(p, t, scratch);
  walkQueries(p, t, span, [&](int64_t, int64_t at) {
    p.y[at] = static_cast<float>(readQuery(t.S, t.Z, t.a, p.q[at], t.terms));
  });
  if (p.causal) loadChunk(t.chunks, kThreads, t.S, t.Z, p.initialS, p.initialZ, t.s, t.terms);
  storeState(p.finalS, p.finalZ, t.S, t.Z, t.s, t.terms);
}

__device__ void writeKeyGradient(const BackwardArgs& p, const Seq& s, int64_t j, const double* A,
                                 const double* Bm, int terms) {
  const int64_t at = s.at(p.keys, j);
  if (!visible(p, s, j)) {
    p.dk[at] = 0.0f;
    p.dv[at] = 0.0f;
    return;
  }
  const KeyGradient grad = keyGradient(A, Bm, p.k[at], p.v[at], terms);
  p.dk[at] = static_cast<float>(grad.dk);
  p.dv[at] = static_cast<float>(grad.dv);
}

__global__ void seriesBackwardKernel(BackwardArgs p, SeriesLaunch launch) {
  __shared__ double scratch[kThreads];
  SeriesThread t(p, launch);
  const int terms = t.terms;
  const Seq& s = t.s;
  double A[kMaxDeviceTerms];
  double Bm[kMaxDeviceTerms];
  for (int n = 0; n < terms; ++n) A[n] = Bm[n] = 0.0;
  // Causal: α, β of every query wait for the reverse walk.
  const int64_t keyScratch = p.causal ? static_cast<int64_t>(blockIdx.x) * p.keys : 0;
  double* alphas = p.causal ? launch.alphas + keyScratch : nullptr;
  double* betas = p.causal ? launch.betas + keyScratch : nullptr;
  // ∂q, α, β per query, and the adjoints of this thread's queries.
  const Span span = momentsBeforeQueries(p, t, scratch);
  walkQueries(p, t, span, [&](int64_t i, int64_t at) {
    const QueryGradient grad = queryGradient(t.S, t.Z, t.a, p.q[at], p.dy[at], terms);
    p.dq[at] = static_cast<float>(grad.dq);
    if (p.causal) {
      alphas[i] = grad.alpha;
      betas[i] = grad.beta;
    }
    addQuery(A, Bm, t.a, p.q[at], grad.alpha, grad.beta, terms);
  });
  if (!p.causal) {
    blockTotals(A, Bm, p.dFinalS, p.dFinalZ, s, terms, scratch);
    for (int64_t j = threadIdx.x; j < p.keys; j += kThreads) {
      writeKeyGradient(p, s, j, A, Bm, terms);
    }
  } else {
    // Suffix scan of the adjoints: chunk t starts from the sums of the chunks after it.
    scanMoments(t.chunks, A, Bm, p.dFinalS, p.dFinalZ, s, terms, true);
    for (int64_t j = span.end - 1; j >= span.begin; --j) {
      addQuery(A, Bm, t.a, p.q[s.at(p.keys, j)], alphas[j], betas[j], terms);
      writeKeyGradient(p, s, j, A, Bm, terms);
    }
    loadChunk(t.chunks, kThreads, A, Bm, p.dFinalS, p.dFinalZ, s, terms);
  }
  storeState(p.dInitialS, p.dInitialZ, A, Bm, s, terms);
}

// Exact EA, one thread per element `item` of a [B, rows, D] array: its batch, row and channel.
struct Element {
  int64_t b;
  int64_t i;
  int64_t c;
};

__device__ Element elementOf(int64_t item, int64_t rows, int64_t D) {
  return Element{item / (D * rows), (item / D) % rows, item % D};
}

__device__ ExactRow exactRowOf(const AttentionCall& p, const Element& e, double q) {
  const int64_t last = p.causal ? e.i : p.keys - 1;
  const int64_t first = (e.b * p.keys) * p.channels + e.c;
  return exactRow(p.k + first, p.v + first, p.mask + e.b * p.keys, p.channels, q, last);
}

__global__ void exactForwardKernel(ForwardArgs p) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= p.batch * p.queries * p.channels) return;
  const ExactRow r = exactRowOf(p, elementOf(item, p.queries, p.channels), p.q[item]);
  p.y[item] = static_cast<float>(ratioOrZero(r.weighted, r.total));
}

// ∂q per query; keeps (shift, total, y) in float64 for the key pass.
__global__ void exactQueryGradientKernel(BackwardArgs p, double* stats) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= p.batch * p.queries * p.channels) return;
  const Element e = elementOf(item, p.queries, p.channels);
  const ExactRow r = exactRowOf(p, e, p.q[item]);
  double dq = 0.0;
  double y = 0.0;
  if (!isZeroDenominator(r.total)) {
    y = r.weighted / r.total;
    const int64_t last = p.causal ? e.i : p.keys - 1;
    const double q = p.q[item];
    const double g = p.dy[item];
    for (int64_t j = 0; j <= last; ++j) {
      if (p.mask[e.b * p.keys + j] == 0.0f) continue;
      const int64_t at = (e.b * p.keys + j) * p.channels + e.c;
      dq -= exactPairGradient(r, q, p.k[at], p.v[at], g, y).dk;
    }
  }
  p.dq[item] = static_cast<float>(dq);
  stats[3 * item] = r.shift;
  stats[3 * item + 1] = r.total;
  stats[3 * item + 2] = y;
}

// ∂k, ∂v per key: gathers over the queries that see it.
__global__ void exactKeyGradientKernel(BackwardArgs p, const double* stats) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= p.batch * p.keys * p.channels) return;
  const Element e = elementOf(item, p.keys, p.channels);
  double dk = 0.0;
  double dv = 0.0;
  if (p.mask[e.b * p.keys + e.i] != 0.0f) {
    for (int64_t i = p.causal ? e.i : 0; i < p.queries; ++i) {
      const int64_t at = (e.b * p.queries + i) * p.channels + e.c;
      const ExactRow r{stats[3 * at], stats[3 * at + 1], 0.0};
      if (isZeroDenominator(r.total)) continue;
      const ExactPairGradient pair =
          exactPairGradient(r, p.q[at], p.k[item], p.v[item], p.dy[at], stats[3 * at + 2]);
      dv += pair.dv;
      dk += pair.dk;
    }
  }
  p.dk[item] = static_cast<float>(dk);
  p.dv[item] = static_cast<float>(dv);
}

__global__ void stepKernel(StepArgs p, int terms) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t D = p.channels;
  if (item >= p.batch * D) return;
  const Seq s{item / D, item % D, D};
  double a[kMaxDeviceTerms];
  double S[kMaxDeviceTerms];
  double Z[kMaxDeviceTerms];
  taylorCoefficients(a, terms);
  for (int n = 0; n < terms; ++n) {
    S[n] = p.s[s.at(terms, n)];
    Z[n] = p.z[s.at(terms, n)];
  }
  addKey(S, Z, p.k[item], p.v[item], terms);
  p.y[item] = static_cast<float>(readQuery(S, Z, a, p.q[item], terms));
  for (int n = 0; n < terms; ++n) {
    p.nextS[s.at(terms, n)] = static_cast<float>(S[n]);
    p.nextZ[s.at(terms, n)] = static_cast<float>(Z[n]);
  }
}

// Scratch of the causal kernels per launch; larger inputs run as several launches of fewer
// sequences. Small under emulation, so that the tests run several launches.
#ifdef EW_CUDA_EMULATION
constexpr size_t kScratchBytes = size_t{1} << 18;
#else
constexpr size_t kScratchBytes = size_t{256} << 20;
#endif

// Sequences per launch given the scratch bytes one sequence needs.
size_t sequencesPerLaunch(size_t sequences, size_t bytesPerSequence) {
  const size_t fit = kScratchBytes / bytesPerSequence;
  return fit < 1 ? 1 : fit < sequences ? fit : sequences;
}

// Runs launch(first, count) over [0, sequences) in groups of `group`.
template <typename Launch>
void inGroups(size_t sequences, size_t group, Launch launch) {
  for (size_t first = 0; first < sequences; first += group) {
    launch(first, group < sequences - first ? group : sequences - first);
  }
}

unsigned gridFor(int64_t items) {
  return static_cast<unsigned>((items + kThreads - 1) / kThreads);
}

void finish(const char* kernel) {
  check(cudaGetLastError(), kernel);
  check(cudaDeviceSynchronize(), kernel);
}

// Runs a kernel of one thread per element over `items` elements.
template <typename... Params, typename... Values>
void launchPerElement(void (*kernel)(Params...), const char* name, int64_t items,
                      const Values&... values) {
  if (items > 0) EW_LAUNCH(kernel, gridFor(items), kThreads, values...);
  finish(name);
}

// A record's arrays on the device: device() is the record with every array moved there (inputs
// copied once), and copyBack() copies its outputs into the host record's arrays once.
template <typename Args>
class DeviceRecord {
 public:
  explicit DeviceRecord(const Args& host) : device_(host) {
    auto move = [&](const char*, auto& array, Extent extent) {
      buffers_.push_back(std::make_unique<DeviceBuffer<float>>(elements(host, extent)));
      DeviceBuffer<float>& buffer = *buffers_.back();
      if constexpr (std::is_same_v<std::remove_reference_t<decltype(array)>, float*>) {
        outputs_.emplace_back(array, &buffer);
      } else {
        buffer.copyFrom(array);
      }
      array = buffer.get();
    };
    forEachArray(device_, move);
  }
  const Args& device() const { return device_; }
  void copyBack() const {
    for (const auto& output : outputs_) output.second->copyTo(output.first);
  }

 private:
  Args device_;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> buffers_;
  std::vector<std::pair<float*, const DeviceBuffer<float>*>> outputs_;
};

// Runs a series kernel over every (batch, channel) sequence; causal inputs in launches of as many
// sequences as the scratch allows (chunk sums, and α, β of every key when `keyGradients`).
template <typename Args>
void runSeries(void (*kernel)(Args, SeriesLaunch), const char* name, const Args& p,
               bool keyGradients) {
  const int terms = stateTerms(p.order);
  const size_t sequences = p.batch * p.channels;
  const size_t chunkDoubles = (kThreads + 1) * 2 * terms;
  const size_t keyDoubles = keyGradients ? p.keys : 0;
  const size_t group =
      p.causal ? sequencesPerLaunch(sequences, (chunkDoubles + 2 * keyDoubles) * sizeof(double))
               : sequences;
  DeviceBuffer<double> chunks(p.causal ? group * chunkDoubles : 0);
  DeviceBuffer<double> alphas(p.causal ? group * keyDoubles : 0);
  DeviceBuffer<double> betas(p.causal ? group * keyDoubles : 0);
  SeriesLaunch launch{chunks.get(), alphas.get(), betas.get(), terms, 0};
  inGroups(sequences, group, [&](size_t first, size_t count) {
    launch.first = static_cast<int64_t>(first);
    EW_LAUNCH(kernel, static_cast<unsigned>(count), kThreads, p, launch);
    finish(name);
  });
}

}  // namespace

bool cudaProbe(std::string* device, std::string* reason) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    *reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(status) + " (error " +
              std::to_string(static_cast<int>(status)) + ")";
    cudaGetLastError();
    return false;
  }
  if (count == 0) {
    *reason = "no CUDA device";
    return false;
  }
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    *reason = "cudaGetDeviceProperties failed";
    cudaGetLastError();
    return false;
  }
  *device = std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
            std::to_string(prop.minor) + ")";
  *reason = std::to_string(count) + " CUDA device(s); using device 0";
  return true;
}

void runOnCuda(const ForwardArgs& args) {
  DeviceRecord<ForwardArgs> record(args);
  const ForwardArgs& p = record.device();
  if (args.order == kExact) {
    launchPerElement(exactForwardKernel, "exactForwardKernel", elements(args, Extent::kQueries), p);
  } else {
    runSeries(seriesForwardKernel, "seriesForwardKernel", p, false);
  }
  record.copyBack();
}

void runOnCuda(const BackwardArgs& args) {
  DeviceRecord<BackwardArgs> record(args);
  const BackwardArgs& p = record.device();
  if (args.order == kExact) {
    const int64_t queries = elements(args, Extent::kQueries);
    DeviceBuffer<double> stats(3 * queries);
    launchPerElement(exactQueryGradientKernel, "exactQueryGradientKernel", queries, p, stats.get());
    launchPerElement(exactKeyGradientKernel, "exactKeyGradientKernel",
                     elements(args, Extent::kKeys), p, stats.get());
  } else {
    runSeries(seriesBackwardKernel, "seriesBackwardKernel", p, true);
  }
  record.copyBack();
}

void runOnCuda(const StepArgs& args) {
  DeviceRecord<StepArgs> record(args);
  launchPerElement(stepKernel, "stepKernel", elements(args, Extent::kQueries), record.device(),
                   stateTerms(args.order));
  record.copyBack();
}

}  // namespace ew
