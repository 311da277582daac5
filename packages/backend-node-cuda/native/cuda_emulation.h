// Runs cuda.cu on host threads, for testing the CUDA kernels where no GPU is present.
//
// Compiled with g++ (-x c++ -DEW_CUDA_EMULATION) instead of nvcc. A launch starts one host
// thread per CUDA thread of a block; the threads run the blocks one after another, so `__shared__`
// (a function-local static here) is private to the running block as on a GPU, and
// `__syncthreads()` is a real barrier across the block's threads. The CUDA runtime calls used by
// cuda.cu map to host memory. Never part of a shipped addon.
#ifndef EW_CUDA_EMULATION_H
#define EW_CUDA_EMULATION_H

#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __shared__ static

struct EwDim3 {
  unsigned x = 0;
};

inline thread_local EwDim3 threadIdx;
inline thread_local EwDim3 blockIdx;
inline EwDim3 blockDim;

// A reusable barrier for the threads of one block.
class EwBarrier {
 public:
  explicit EwBarrier(unsigned count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const unsigned generation = generation_;
    if (++arrived_ == count_) {
      arrived_ = 0;
      ++generation_;
      condition_.notify_all();
      return;
    }
    condition_.wait(lock, [&] { return generation != generation_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable condition_;
  unsigned count_;
  unsigned arrived_ = 0;
  unsigned generation_ = 0;
};

inline EwBarrier* ewBlockBarrier = nullptr;

inline void __syncthreads() { ewBlockBarrier->wait(); }

template <typename Kernel, typename... Args>
void ewLaunch(Kernel kernel, unsigned grid, unsigned block, Args... args) {
  EwBarrier barrier(block);
  ewBlockBarrier = &barrier;
  blockDim.x = block;
  std::vector<std::thread> threads;
  threads.reserve(block);
  for (unsigned t = 0; t < block; ++t) {
    threads.emplace_back([&, t] {
      threadIdx.x = t;
      for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        kernel(args...);
        barrier.wait();  // the block is done before the next one reuses __shared__
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ewBlockBarrier = nullptr;
}

#define EW_LAUNCH(kernel, grid, block, ...) ewLaunch(kernel, (grid), (block), __VA_ARGS__)

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
constexpr cudaError_t cudaErrorMemoryAllocation = 2;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost };

struct cudaDeviceProp {
  char name[256];
  int major;
  int minor;
};

inline const char* cudaGetErrorString(cudaError_t status) {
  return status == cudaSuccess ? "no error" : "out of memory";
}
template <typename T>
cudaError_t cudaMalloc(T** pointer, size_t bytes) {
  *pointer = static_cast<T*>(std::malloc(bytes));
  return *pointer == nullptr ? cudaErrorMemoryAllocation : cudaSuccess;
}
inline cudaError_t cudaFree(void* pointer) {
  std::free(pointer);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void* to, const void* from, size_t bytes, cudaMemcpyKind) {
  std::memcpy(to, from, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int) {
  std::strcpy(prop->name, "CUDA emulation on host threads");
  prop->major = 0;
  prop->minor = 0;
  return cudaSuccess;
}

#endif  // EW_CUDA_EMULATION_H
