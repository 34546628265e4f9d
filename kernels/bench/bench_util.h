// Shared by the kernel benchmarks: CUDA-event timing (median of repeated runs after a
// warm-up) and the device's measured copy bandwidth, the ceiling memory-bound kernels are
// judged against (DESIGN.md section 8: compare ratios measured in one run).
#ifndef GLASERVE_KERNELS_BENCH_BENCH_UTIL_H_
#define GLASERVE_KERNELS_BENCH_BENCH_UTIL_H_

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace glaserve::bench {

inline void Check(cudaError_t error, const char* what) {
  if (error != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(error));
    std::exit(1);
  }
}

// Median milliseconds of `run` over `reps` timed runs, after `warmup` untimed ones. Each
// timed run is bracketed by events on `stream`.
template <typename Run>
double MedianMs(Run run, cudaStream_t stream, int warmup = 5, int reps = 20) {
  for (int i = 0; i < warmup; ++i) run();
  cudaEvent_t start, stop;
  Check(cudaEventCreate(&start), "cudaEventCreate");
  Check(cudaEventCreate(&stop), "cudaEventCreate");
  std::vector<float> times;
  for (int i = 0; i < reps; ++i) {
    Check(cudaEventRecord(start, stream), "cudaEventRecord");
    run();
    Check(cudaEventRecord(stop, stream), "cudaEventRecord");
    Check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    Check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    times.push_back(ms);
  }
  Check(cudaGetLastError(), "a timed launch");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Bytes read plus bytes written per second by a large device-to-device copy.
inline double MeasureCopyBandwidth(cudaStream_t stream, size_t bytes = size_t(2) << 30) {
  void *a = nullptr, *b = nullptr;
  Check(cudaMalloc(&a, bytes), "cudaMalloc");
  Check(cudaMalloc(&b, bytes), "cudaMalloc");
  Check(cudaMemsetAsync(a, 1, bytes, stream), "cudaMemset");
  const double ms = MedianMs([&] { Check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream), "copy"); },
                             stream, 3, 10);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (ms * 1e-3);
}

}  // namespace glaserve::bench

#endif  // GLASERVE_KERNELS_BENCH_BENCH_UTIL_H_
