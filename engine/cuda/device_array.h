// An owned, typed block of device memory: the CUDA backend's std::vector, minus the
// element-wise access. Resizing discards the contents (buffers are scratch or reloaded).
#ifndef GLASERVE_ENGINE_CUDA_DEVICE_ARRAY_H_
#define GLASERVE_ENGINE_CUDA_DEVICE_ARRAY_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <span>
#include <utility>

#include "engine/cuda/cuda_check.h"

namespace glaserve {

template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t size) { Resize(size); }
  ~DeviceArray() { Free(); }
  DeviceArray(DeviceArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    if (this != &other) {
      Free();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  // Reallocates to exactly `size` elements; the old contents are lost.
  void Resize(size_t size) {
    Free();
    if (size > 0) CUDA_CHECK(cudaMalloc(&data_, size * sizeof(T)));
    size_ = size;
  }
  // Grows (never shrinks) to at least `size`; returns whether it reallocated.
  bool Reserve(size_t size) {
    if (size <= size_) return false;
    Resize(size);
    return true;
  }
  // Synchronous upload of a host array of the same size.
  void CopyFromHost(std::span<const T> host) {
    CHECK_EQ(host.size(), size_) << "DeviceArray::CopyFromHost: size mismatch";
    if (size_ > 0) CUDA_CHECK(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

 private:
  void Free() {
    if (data_ != nullptr) cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CUDA_DEVICE_ARRAY_H_
