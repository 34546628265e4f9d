#include "engine/cuda/cuda_device.h"

#include <cuda_runtime.h>

#include "absl/strings/str_format.h"

namespace glaserve {

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

std::string CudaDeviceDescription(int device) {
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "unknown CUDA device";
  return absl::StrFormat("%s (sm_%d%d, %d SMs, %.1f GiB)", prop.name, prop.major, prop.minor,
                         prop.multiProcessorCount, prop.totalGlobalMem / double(1 << 30));
}

}  // namespace glaserve
