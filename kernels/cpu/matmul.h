// Dense fp32 matmuls for the CPU backend, through BLAS (OpenBLAS).
#ifndef GLASERVE_KERNELS_CPU_MATMUL_H_
#define GLASERVE_KERNELS_CPU_MATMUL_H_

#include <cstdint>

namespace glaserve::kernels {

// y[rows, out] = x[rows, in] @ w[out, in]^T (+ y when accumulate). Weights are stored as
// PyTorch does, [out_features, in_features] row-major, so a linear layer is x @ w^T.
// Leading dimensions are in elements; x_ld >= in, y_ld >= out.
void Linear(const float* x, int64_t x_ld, int64_t rows, int64_t in, const float* w, int64_t out,
            float* y, int64_t y_ld, bool accumulate = false);

// c[m, n] = alpha * op(a) @ op(b) + beta * c, all row-major with explicit leading dims.
void Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc);

}  // namespace glaserve::kernels

#endif  // GLASERVE_KERNELS_CPU_MATMUL_H_
