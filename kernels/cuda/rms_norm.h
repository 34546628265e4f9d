// RMSNorm on the GPU (DESIGN.md section 1): fp32 rows in, bf16 rows out, fp32 math:
//   out[r, :] = bf16(in[row(r), :] / sqrt(mean(in[row(r), :]^2) + eps) * weight)
// where row(r) = row_index[r] when a gather is asked for (e.g. the last token of each
// sequence before the LM head), else r.
//
// One block per output row: the block reduces the sum of squares (warp shuffles, then one
// word per warp in shared memory), then reads the row again (from L1/L2) to scale and
// round it. 16-byte loads and 8-byte stores when pointers, strides and width allow.
#ifndef GLASERVE_KERNELS_CUDA_RMS_NORM_H_
#define GLASERVE_KERNELS_CUDA_RMS_NORM_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace glaserve::kernels::cuda {

struct RmsNormArgs {
  int32_t num_rows = 0;  // output rows
  int32_t width = 0;     // elements per row, up to 16K and beyond
  const float* in = nullptr;  // [*, width] fp32
  int64_t in_stride = 0;      // floats between input rows
  // Optional device [num_rows]: the input row of output row r (a gather); nullptr = identity.
  const int32_t* row_index = nullptr;
  const float* weight = nullptr;  // [width] fp32
  float eps = 1e-6f;
  __nv_bfloat16* out = nullptr;  // [num_rows, width] bf16
  int64_t out_stride = 0;        // elements between output rows
};

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchRmsNorm(const RmsNormArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_RMS_NORM_H_
