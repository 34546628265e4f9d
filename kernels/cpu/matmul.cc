#include "kernels/cpu/matmul.h"

#include <cblas.h>

namespace glaserve::kernels {

void Gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
              transpose_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

void Linear(const float* x, int64_t x_ld, int64_t rows, int64_t in, const float* w, int64_t out,
            float* y, int64_t y_ld, bool accumulate) {
  Gemm(false, true, rows, out, in, 1.0f, x, x_ld, w, in, accumulate ? 1.0f : 0.0f, y, y_ld);
}

}  // namespace glaserve::kernels
