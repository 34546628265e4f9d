// What CUDA devices this process can use; callable from code that includes no CUDA header.
#ifndef GLASERVE_ENGINE_CUDA_CUDA_DEVICE_H_
#define GLASERVE_ENGINE_CUDA_CUDA_DEVICE_H_

#include <string>

namespace glaserve {

// 0 when there is no usable GPU (no driver, no device, or CUDA_VISIBLE_DEVICES empty).
int CudaDeviceCount();
// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)" for logs and model info.
std::string CudaDeviceDescription(int device);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CUDA_CUDA_DEVICE_H_
