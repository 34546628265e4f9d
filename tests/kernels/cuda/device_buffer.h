// Helpers for GPU kernel tests: device buffers filled from host vectors, a GPU presence
// check, and all-close comparisons (fp32, and bf16 within one ulp) that print the first
// mismatches.
#ifndef GLASERVE_TESTS_KERNELS_CUDA_DEVICE_BUFFER_H_
#define GLASERVE_TESTS_KERNELS_CUDA_DEVICE_BUFFER_H_

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/half_convert.h"

namespace glaserve::kernels::cuda::testing {

inline bool HasGpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : size_(host.size()) {
    if (size_ == 0) return;
    EXPECT_EQ(cudaMalloc(&data_, size_ * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  std::vector<T> ToHost() const {
    std::vector<T> host(size_);
    EXPECT_EQ(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  T* data_ = nullptr;
  size_t size_;
};

// |got - want| <= atol + rtol * |want| everywhere; reports the first 5 mismatches.
inline void ExpectAllClose(const std::vector<float>& got, const std::vector<float>& want, float atol, float rtol,
                           const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      if (++mismatches <= 5) ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << " want " << want[i];
    }
  }
  EXPECT_EQ(mismatches, 0) << what << ": " << mismatches << " of " << got.size() << " differ (atol " << atol
                           << ", rtol " << rtol << ")";
}

// A bf16 NaN: poisons outputs so that unwritten elements fail the comparison.
inline constexpr uint16_t kBf16Nan = 0x7fc0;

// Every element within one bf16 ulp of the rounded reference; NaN (unwritten) never passes.
inline void ExpectBf16Close(const std::vector<uint16_t>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float rounded = Bf16ToFloat(FloatToBf16(want[i]));
    const float ulp = rounded == 0 ? 1e-30f : std::ldexp(1.0f, std::ilogb(rounded) - 7);
    const float value = Bf16ToFloat(got[i]);
    if (!(std::fabs(value - rounded) <= ulp)) {
      if (++mismatches <= 5) ADD_FAILURE() << what << "[" << i << "]: got " << value << " want " << rounded;
    }
  }
  EXPECT_EQ(mismatches, 0) << what << ": " << mismatches << " of " << got.size() << " differ by more than 1 ulp";
}

}  // namespace glaserve::kernels::cuda::testing

#endif  // GLASERVE_TESTS_KERNELS_CUDA_DEVICE_BUFFER_H_
