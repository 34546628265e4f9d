// CHECK-style guards for CUDA runtime and cuBLAS calls in the CUDA backend. A failing call
// there is a broken device or a bug (bad shapes are refused before any launch), so it
// aborts with the call and the library's own message rather than returning a status.
#ifndef GLASERVE_ENGINE_CUDA_CUDA_CHECK_H_
#define GLASERVE_ENGINE_CUDA_CUDA_CHECK_H_

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "engine/check.h"

#define CUDA_CHECK(expr)                                                        \
  do {                                                                          \
    const cudaError_t cuda_check_error = (expr);                                \
    CHECK(cuda_check_error == cudaSuccess) << #expr << ": "                     \
                                           << cudaGetErrorString(cuda_check_error); \
  } while (0)

#define CUBLAS_CHECK(expr)                                                        \
  do {                                                                            \
    const cublasStatus_t cublas_check_status = (expr);                            \
    CHECK(cublas_check_status == CUBLAS_STATUS_SUCCESS)                           \
        << #expr << ": " << cublasGetStatusString(cublas_check_status);           \
  } while (0)

#endif  // GLASERVE_ENGINE_CUDA_CUDA_CHECK_H_
