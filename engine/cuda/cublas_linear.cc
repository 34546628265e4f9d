#include "engine/cuda/cublas_linear.h"

#include "engine/cuda/cuda_check.h"

namespace glaserve {

void Linear(cublasHandle_t handle, const LinearArgs& a) {
  if (a.num_rows == 0) return;
  // cuBLAS is column-major: the row-major out[T, N] is the column-major N x T matrix
  // W . in^T, where row-major W[N, K] read column-major is W^T (hence OP_T) and row-major
  // in[T, K] read column-major is in^T (OP_N).
  const float alpha = 1.0f, beta = a.accumulate ? 1.0f : 0.0f;
  CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(a.out_features),
                            static_cast<int>(a.num_rows), static_cast<int>(a.in_features), &alpha, a.weight,
                            CUDA_R_16BF, static_cast<int>(a.in_features), a.in, CUDA_R_16BF,
                            static_cast<int>(a.in_stride), &beta, a.out, CUDA_R_32F,
                            static_cast<int>(a.out_stride), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace glaserve
