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
#include <math_constants.h>
#define EW_LAUNCH(kernel, grid, block, ...) kernel<<<(grid), (block)>>>(__VA_ARGS__)
#endif

#include <cstdio>
#include <stdexcept>
#include <string>

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
  DeviceBuffer(const T* host, size_t count) : DeviceBuffer(count) {
    if (count_ > 0) {
      check(cudaMemcpy(data_, host, count_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
    }
  }
  ~DeviceBuffer() {
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }
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

// Sums per-thread arrays X[terms], Y[terms] over the block into X, Y of every thread.
__device__ void blockSumMoments(double* X, double* Y, int terms, double* scratch) {
  for (int n = 0; n < terms; ++n) {
    X[n] = blockSum(X[n], scratch);
    Y[n] = blockSum(Y[n], scratch);
  }
}

struct SeriesParams {
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  const float* s0;
  const float* z0;
  float* y;
  float* finalS;
  float* finalZ;
  // backward only
  const float* dy;
  const float* dFinalS;
  const float* dFinalZ;
  float* dq;
  float* dk;
  float* dv;
  float* dInitialS;
  float* dInitialZ;
  // causal scratch: per sequence, kThreads chunks × 2·terms doubles, and α, β per key
  double* chunks;
  double* alphas;
  double* betas;
  int64_t B;
  int64_t Lq;
  int64_t L;
  int64_t D;
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

__device__ Seq blockSequence(const SeriesParams& p) {
  const int64_t sequence = p.first + static_cast<int64_t>(blockIdx.x);
  return Seq{sequence / p.D, sequence % p.D, p.D};
}

__device__ void loadCoefficients(double* a, int terms) { taylorCoefficients(a, terms); }

__device__ bool visible(const SeriesParams& p, const Seq& s, int64_t j) {
  return p.mask[s.b * p.L + j] != 0.0f;
}

// Exclusive scan of the chunk sums of this sequence, in place: thread n < 2·terms scans moment n
// over the chunks, starting from start[n]; returns the total in start. Forward or reverse.
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

__global__ void seriesForwardKernel(SeriesParams p, bool causal) {
  __shared__ double scratch[kThreads];
  const Seq s = blockSequence(p);
  const int terms = p.terms;
  double a[kMaxDeviceTerms];
  double S[kMaxDeviceTerms];
  double Z[kMaxDeviceTerms];
  loadCoefficients(a, terms);
  for (int n = 0; n < terms; ++n) S[n] = Z[n] = 0.0;
  if (!causal) {
    for (int64_t j = threadIdx.x; j < p.L; j += kThreads) {
      if (visible(p, s, j)) addKey(S, Z, p.k[s.at(p.L, j)], p.v[s.at(p.L, j)], terms);
    }
    blockSumMoments(S, Z, terms, scratch);
    for (int n = 0; n < terms; ++n) {
      S[n] += p.s0[s.at(terms, n)];
      Z[n] += p.z0[s.at(terms, n)];
    }
    for (int64_t i = threadIdx.x; i < p.Lq; i += kThreads) {
      p.y[s.at(p.Lq, i)] = static_cast<float>(readQuery(S, Z, a, p.q[s.at(p.Lq, i)], terms));
    }
    if (threadIdx.x == 0) {
      for (int n = 0; n < terms; ++n) {
        p.finalS[s.at(terms, n)] = static_cast<float>(S[n]);
        p.finalZ[s.at(terms, n)] = static_cast<float>(Z[n]);
      }
    }
    return;
  }
  // Causal: chunk sums, scan, then each chunk from its carry.
  const int width = 2 * terms;
  double* chunks = p.chunks + static_cast<int64_t>(blockIdx.x) * (kThreads + 1) * width;
  const int64_t size = (p.L + kThreads - 1) / kThreads;
  const int64_t begin = smaller(p.L, static_cast<int64_t>(threadIdx.x) * size);
  const int64_t end = smaller(p.L, begin + size);
  for (int64_t j = begin; j < end; ++j) {
    if (visible(p, s, j)) addKey(S, Z, p.k[s.at(p.L, j)], p.v[s.at(p.L, j)], terms);
  }
  for (int n = 0; n < terms; ++n) {
    chunks[threadIdx.x * width + n] = S[n];
    chunks[threadIdx.x * width + terms + n] = Z[n];
  }
  __syncthreads();
  scanChunks(chunks, terms, false);
  for (int n = 0; n < terms; ++n) {
    S[n] = p.s0[s.at(terms, n)] + chunks[threadIdx.x * width + n];
    Z[n] = p.z0[s.at(terms, n)] + chunks[threadIdx.x * width + terms + n];
  }
  for (int64_t i = begin; i < end; ++i) {
    const int64_t at = s.at(p.L, i);
    if (visible(p, s, i)) addKey(S, Z, p.k[at], p.v[at], terms);
    p.y[at] = static_cast<float>(readQuery(S, Z, a, p.q[at], terms));
  }
  if (threadIdx.x == 0) {
    for (int n = 0; n < terms; ++n) {
      p.finalS[s.at(terms, n)] = static_cast<float>(p.s0[s.at(terms, n)] + chunks[kThreads * width + n]);
      p.finalZ[s.at(terms, n)] =
          static_cast<float>(p.z0[s.at(terms, n)] + chunks[kThreads * width + terms + n]);
    }
  }
}

__device__ void writeKeyGradient(const SeriesParams& p, const Seq& s, int64_t j, const double* A,
                                 const double* Bm) {
  const int64_t at = s.at(p.L, j);
  if (!visible(p, s, j)) {
    p.dk[at] = 0.0f;
    p.dv[at] = 0.0f;
    return;
  }
  const KeyGradient grad = keyGradient(A, Bm, p.k[at], p.v[at], p.terms);
  p.dk[at] = static_cast<float>(grad.dk);
  p.dv[at] = static_cast<float>(grad.dv);
}

__global__ void seriesBackwardKernel(SeriesParams p, bool causal) {
  __shared__ double scratch[kThreads];
  const Seq s = blockSequence(p);
  const int terms = p.terms;
  double a[kMaxDeviceTerms];
  double S[kMaxDeviceTerms];
  double Z[kMaxDeviceTerms];
  double A[kMaxDeviceTerms];
  double Bm[kMaxDeviceTerms];
  loadCoefficients(a, terms);
  for (int n = 0; n < terms; ++n) S[n] = Z[n] = A[n] = Bm[n] = 0.0;
  if (!causal) {
    for (int64_t j = threadIdx.x; j < p.L; j += kThreads) {
      if (visible(p, s, j)) addKey(S, Z, p.k[s.at(p.L, j)], p.v[s.at(p.L, j)], terms);
    }
    blockSumMoments(S, Z, terms, scratch);
    for (int n = 0; n < terms; ++n) {
      S[n] += p.s0[s.at(terms, n)];
      Z[n] += p.z0[s.at(terms, n)];
    }
    for (int64_t i = threadIdx.x; i < p.Lq; i += kThreads) {
      const int64_t at = s.at(p.Lq, i);
      const QueryGradient grad = queryGradient(S, Z, a, p.q[at], p.dy[at], terms);
      p.dq[at] = static_cast<float>(grad.dq);
      addQuery(A, Bm, a, p.q[at], grad.alpha, grad.beta, terms);
    }
    blockSumMoments(A, Bm, terms, scratch);
    for (int n = 0; n < terms; ++n) {
      A[n] += p.dFinalS[s.at(terms, n)];
      Bm[n] += p.dFinalZ[s.at(terms, n)];
    }
    for (int64_t j = threadIdx.x; j < p.L; j += kThreads) writeKeyGradient(p, s, j, A, Bm);
  } else {
    const int width = 2 * terms;
    double* chunks = p.chunks + static_cast<int64_t>(blockIdx.x) * (kThreads + 1) * width;
    double* alphas = p.alphas + static_cast<int64_t>(blockIdx.x) * p.L;
    double* betas = p.betas + static_cast<int64_t>(blockIdx.x) * p.L;
    const int64_t size = (p.L + kThreads - 1) / kThreads;
    const int64_t begin = smaller(p.L, static_cast<int64_t>(threadIdx.x) * size);
    const int64_t end = smaller(p.L, begin + size);
    // Prefix scan of the moments.
    for (int64_t j = begin; j < end; ++j) {
      if (visible(p, s, j)) addKey(S, Z, p.k[s.at(p.L, j)], p.v[s.at(p.L, j)], terms);
    }
    for (int n = 0; n < terms; ++n) {
      chunks[threadIdx.x * width + n] = S[n];
      chunks[threadIdx.x * width + terms + n] = Z[n];
    }
    __syncthreads();
    scanChunks(chunks, terms, false);
    for (int n = 0; n < terms; ++n) {
      S[n] = p.s0[s.at(terms, n)] + chunks[threadIdx.x * width + n];
      Z[n] = p.z0[s.at(terms, n)] + chunks[threadIdx.x * width + terms + n];
    }
    // ∂q, α, β per query, and the chunk sums of the adjoints.
    for (int64_t i = begin; i < end; ++i) {
      const int64_t at = s.at(p.L, i);
      if (visible(p, s, i)) addKey(S, Z, p.k[at], p.v[at], terms);
      const QueryGradient grad = queryGradient(S, Z, a, p.q[at], p.dy[at], terms);
      p.dq[at] = static_cast<float>(grad.dq);
      alphas[i] = grad.alpha;
      betas[i] = grad.beta;
      addQuery(A, Bm, a, p.q[at], grad.alpha, grad.beta, terms);
    }
    __syncthreads();  // every thread has read its carry before the chunks are reused
    for (int n = 0; n < terms; ++n) {
      chunks[threadIdx.x * width + n] = A[n];
      chunks[threadIdx.x * width + terms + n] = Bm[n];
    }
    __syncthreads();
    // Suffix scan of the adjoints: chunk t starts from the sums of the chunks after it.
    scanChunks(chunks, terms, true);
    for (int n = 0; n < terms; ++n) {
      A[n] = p.dFinalS[s.at(terms, n)] + chunks[threadIdx.x * width + n];
      Bm[n] = p.dFinalZ[s.at(terms, n)] + chunks[threadIdx.x * width + terms + n];
    }
    for (int64_t j = end - 1; j >= begin; --j) {
      addQuery(A, Bm, a, p.q[s.at(p.L, j)], alphas[j], betas[j], terms);
      writeKeyGradient(p, s, j, A, Bm);
    }
    for (int n = 0; n < terms; ++n) {
      A[n] = p.dFinalS[s.at(terms, n)] + chunks[kThreads * width + n];
      Bm[n] = p.dFinalZ[s.at(terms, n)] + chunks[kThreads * width + terms + n];
    }
  }
  if (threadIdx.x == 0) {
    for (int n = 0; n < terms; ++n) {
      p.dInitialS[s.at(terms, n)] = static_cast<float>(A[n]);
      p.dInitialZ[s.at(terms, n)] = static_cast<float>(Bm[n]);
    }
  }
}

struct ExactParams {
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  const float* dy;
  float* y;
  float* dq;
  float* dk;
  float* dv;
  // backward: per query (shift, total, y) in float64
  double* stats;
  int64_t B;
  int64_t Lq;
  int64_t L;
  int64_t D;
  bool causal;
};

struct ExactQuery {
  double shift;
  double total;
  double weighted;
};

__device__ ExactQuery exactQuery(const ExactParams& p, int64_t b, int64_t i, int64_t c) {
  const double q = p.q[(b * p.Lq + i) * p.D + c];
  const int64_t last = p.causal ? i : p.L - 1;
  ExactQuery r{CUDART_INF, 0.0, 0.0};
  for (int64_t j = 0; j <= last; ++j) {
    if (p.mask[b * p.L + j] == 0.0f) continue;
    r.shift = fmin(r.shift, exactDistance(q, p.k[(b * p.L + j) * p.D + c]));
  }
  for (int64_t j = 0; j <= last; ++j) {
    if (p.mask[b * p.L + j] == 0.0f) continue;
    const int64_t at = (b * p.L + j) * p.D + c;
    const double w = exactWeight(r.shift, q, p.k[at]);
    r.total += w;
    r.weighted += w * p.v[at];
  }
  return r;
}

__global__ void exactForwardKernel(ExactParams p) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= p.B * p.Lq * p.D) return;
  const int64_t c = item % p.D;
  const int64_t i = (item / p.D) % p.Lq;
  const int64_t b = item / (p.D * p.Lq);
  const ExactQuery r = exactQuery(p, b, i, c);
  p.y[item] = static_cast<float>(isZeroDenominator(r.total) ? 0.0 : r.weighted / r.total);
}

// ∂q per query; keeps (shift, total, y) for the key pass.
__global__ void exactQueryGradientKernel(ExactParams p) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= p.B * p.Lq * p.D) return;
  const int64_t c = item % p.D;
  const int64_t i = (item / p.D) % p.Lq;
  const int64_t b = item / (p.D * p.Lq);
  const ExactQuery r = exactQuery(p, b, i, c);
  double dq = 0.0;
  double y = 0.0;
  if (!isZeroDenominator(r.total)) {
    const double q = p.q[item];
    const double g = p.dy[item];
    y = r.weighted / r.total;
    const int64_t last = p.causal ? i : p.L - 1;
    for (int64_t j = 0; j <= last; ++j) {
      if (p.mask[b * p.L + j] == 0.0f) continue;
      const int64_t at = (b * p.L + j) * p.D + c;
      const double gp = g * exactWeight(r.shift, q, p.k[at]) / r.total;
      dq -= 2.0 * (q - p.k[at]) * gp * (p.v[at] - y);
    }
  }
  p.dq[item] = static_cast<float>(dq);
  p.stats[3 * item] = r.shift;
  p.stats[3 * item + 1] = r.total;
  p.stats[3 * item + 2] = y;
}

// ∂k, ∂v per key: gathers over the queries that see it.
__global__ void exactKeyGradientKernel(ExactParams p) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= p.B * p.L * p.D) return;
  const int64_t c = item % p.D;
  const int64_t j = (item / p.D) % p.L;
  const int64_t b = item / (p.D * p.L);
  double dk = 0.0;
  double dv = 0.0;
  if (p.mask[b * p.L + j] != 0.0f) {
    const double k = p.k[item];
    const double v = p.v[item];
    for (int64_t i = p.causal ? j : 0; i < p.Lq; ++i) {
      const int64_t at = (b * p.Lq + i) * p.D + c;
      const double total = p.stats[3 * at + 1];
      if (isZeroDenominator(total)) continue;
      const double q = p.q[at];
      const double gp = p.dy[at] * exactWeight(p.stats[3 * at], q, k) / total;
      dv += gp;
      dk += 2.0 * (q - k) * gp * (v - p.stats[3 * at + 2]);
    }
  }
  p.dk[item] = static_cast<float>(dk);
  p.dv[item] = static_cast<float>(dv);
}

__global__ void stepKernel(const float* q, const float* k, const float* v, const float* s,
                           const float* z, float* y, float* nextS, float* nextZ, int64_t batch,
                           int64_t D, int terms) {
  const int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item >= batch * D) return;
  const int64_t b = item / D;
  const int64_t c = item % D;
  double a[kMaxDeviceTerms];
  double S[kMaxDeviceTerms];
  double Z[kMaxDeviceTerms];
  taylorCoefficients(a, terms);
  for (int n = 0; n < terms; ++n) {
    S[n] = s[(b * terms + n) * D + c];
    Z[n] = z[(b * terms + n) * D + c];
  }
  addKey(S, Z, k[item], v[item], terms);
  y[item] = static_cast<float>(readQuery(S, Z, a, q[item], terms));
  for (int n = 0; n < terms; ++n) {
    nextS[(b * terms + n) * D + c] = static_cast<float>(S[n]);
    nextZ[(b * terms + n) * D + c] = static_cast<float>(Z[n]);
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

void cudaForward(const ForwardArgs& args) {
  const Dims& d = args.dims;
  const size_t qSize = d.batch * d.queries * d.channels;
  const size_t kSize = d.batch * d.keys * d.channels;
  if (args.order == kExact) {
    DeviceBuffer<float> q(args.q, qSize), k(args.k, kSize), v(args.v, kSize);
    DeviceBuffer<float> mask(args.mask, d.batch * d.keys), y(qSize);
    ExactParams p{q.get(), k.get(), v.get(), mask.get(), nullptr, y.get(), nullptr, nullptr,
                  nullptr, nullptr, d.batch, d.queries, d.keys, d.channels, args.causal};
    if (qSize > 0) EW_LAUNCH(exactForwardKernel, gridFor(qSize), kThreads, p);
    finish("exactForwardKernel");
    y.copyTo(args.y);
    return;
  }
  const int terms = stateTerms(args.order);
  const size_t stateSize = d.batch * terms * d.channels;
  const size_t sequences = d.batch * d.channels;
  DeviceBuffer<float> q(args.q, qSize), k(args.k, kSize), v(args.v, kSize);
  DeviceBuffer<float> mask(args.mask, d.batch * d.keys);
  DeviceBuffer<float> s0(args.initialS, stateSize), z0(args.initialZ, stateSize);
  DeviceBuffer<float> y(qSize), finalS(stateSize), finalZ(stateSize);
  const size_t chunkDoubles = (kThreads + 1) * 2 * terms;
  const size_t group =
      args.causal ? sequencesPerLaunch(sequences, chunkDoubles * sizeof(double)) : sequences;
  DeviceBuffer<double> chunks(args.causal ? group * chunkDoubles : 0);
  SeriesParams p{};
  p.q = q.get();
  p.k = k.get();
  p.v = v.get();
  p.mask = mask.get();
  p.s0 = s0.get();
  p.z0 = z0.get();
  p.y = y.get();
  p.finalS = finalS.get();
  p.finalZ = finalZ.get();
  p.chunks = chunks.get();
  p.B = d.batch;
  p.Lq = d.queries;
  p.L = d.keys;
  p.D = d.channels;
  p.terms = terms;
  inGroups(sequences, group, [&](size_t first, size_t count) {
    p.first = static_cast<int64_t>(first);
    EW_LAUNCH(seriesForwardKernel, static_cast<unsigned>(count), kThreads, p, args.causal);
    finish("seriesForwardKernel");
  });
  y.copyTo(args.y);
  finalS.copyTo(args.finalS);
  finalZ.copyTo(args.finalZ);
}

void cudaBackward(const BackwardArgs& args) {
  const Dims& d = args.dims;
  const size_t qSize = d.batch * d.queries * d.channels;
  const size_t kSize = d.batch * d.keys * d.channels;
  DeviceBuffer<float> q(args.q, qSize), k(args.k, kSize), v(args.v, kSize);
  DeviceBuffer<float> mask(args.mask, d.batch * d.keys), dy(args.dy, qSize);
  DeviceBuffer<float> dq(qSize), dk(kSize), dv(kSize);
  if (args.order == kExact) {
    DeviceBuffer<double> stats(3 * qSize);
    ExactParams p{q.get(), k.get(), v.get(), mask.get(), dy.get(), nullptr, dq.get(), dk.get(),
                  dv.get(), stats.get(), d.batch, d.queries, d.keys, d.channels, args.causal};
    if (qSize > 0) EW_LAUNCH(exactQueryGradientKernel, gridFor(qSize), kThreads, p);
    finish("exactQueryGradientKernel");
    if (kSize > 0) EW_LAUNCH(exactKeyGradientKernel, gridFor(kSize), kThreads, p);
    finish("exactKeyGradientKernel");
    dq.copyTo(args.dq);
    dk.copyTo(args.dk);
    dv.copyTo(args.dv);
    return;
  }
  const int terms = stateTerms(args.order);
  const size_t stateSize = d.batch * terms * d.channels;
  const size_t sequences = d.batch * d.channels;
  DeviceBuffer<float> s0(args.initialS, stateSize), z0(args.initialZ, stateSize);
  DeviceBuffer<float> dFinalS(args.dFinalS, stateSize), dFinalZ(args.dFinalZ, stateSize);
  DeviceBuffer<float> dInitialS(stateSize), dInitialZ(stateSize);
  // Causal scratch per sequence: the chunk sums, and α, β of every query in float64.
  const size_t chunkDoubles = (kThreads + 1) * 2 * terms;
  const size_t group =
      args.causal ? sequencesPerLaunch(sequences, (chunkDoubles + 2 * d.keys) * sizeof(double))
                  : sequences;
  DeviceBuffer<double> chunks(args.causal ? group * chunkDoubles : 0);
  DeviceBuffer<double> alphas(args.causal ? group * d.keys : 0);
  DeviceBuffer<double> betas(args.causal ? group * d.keys : 0);
  SeriesParams p{};
  p.q = q.get();
  p.k = k.get();
  p.v = v.get();
  p.mask = mask.get();
  p.s0 = s0.get();
  p.z0 = z0.get();
  p.dy = dy.get();
  p.dFinalS = dFinalS.get();
  p.dFinalZ = dFinalZ.get();
  p.dq = dq.get();
  p.dk = dk.get();
  p.dv = dv.get();
  p.dInitialS = dInitialS.get();
  p.dInitialZ = dInitialZ.get();
  p.chunks = chunks.get();
  p.alphas = alphas.get();
  p.betas = betas.get();
  p.B = d.batch;
  p.Lq = d.queries;
  p.L = d.keys;
  p.D = d.channels;
  p.terms = terms;
  inGroups(sequences, group, [&](size_t first, size_t count) {
    p.first = static_cast<int64_t>(first);
    EW_LAUNCH(seriesBackwardKernel, static_cast<unsigned>(count), kThreads, p, args.causal);
    finish("seriesBackwardKernel");
  });
  dq.copyTo(args.dq);
  dk.copyTo(args.dk);
  dv.copyTo(args.dv);
  dInitialS.copyTo(args.dInitialS);
  dInitialZ.copyTo(args.dInitialZ);
}

void cudaStep(const StepArgs& args) {
  const int terms = stateTerms(args.order);
  const size_t rowSize = args.batch * args.channels;
  const size_t stateSize = rowSize * terms;
  DeviceBuffer<float> q(args.q, rowSize), k(args.k, rowSize), v(args.v, rowSize);
  DeviceBuffer<float> s(args.s, stateSize), z(args.z, stateSize);
  DeviceBuffer<float> y(rowSize), nextS(stateSize), nextZ(stateSize);
  if (rowSize > 0) {
    EW_LAUNCH(stepKernel, gridFor(rowSize), kThreads, q.get(), k.get(), v.get(), s.get(), z.get(),
              y.get(), nextS.get(), nextZ.get(), args.batch, args.channels, terms);
  }
  finish("stepKernel");
  y.copyTo(args.y);
  nextS.copyTo(args.nextS);
  nextZ.copyTo(args.nextZ);
}

}  // namespace ew
