// The CUDA RMSNorm against the CPU one (kernels/cpu/rms_norm.h), rounded to bf16: strided
// rows, odd and wide widths, unaligned rows, and gathered rows. Tolerance: one bf16 ulp of
// the reference (the kernel sums in fp32, the CPU in double, so a value near a rounding
// boundary may land on the neighbour). Skips where no GPU is.
#include "kernels/cuda/rms_norm.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/half_convert.h"
#include "kernels/cpu/rms_norm.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

struct RmsNormShape {
  int rows, width, in_stride, out_stride;
  bool gather;
  int in_offset;  // floats the input starts past an allocation: 1 breaks 16-byte alignment
};

class RmsNormCudaTest : public ::testing::TestWithParam<RmsNormShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(RmsNormCudaTest, MatchesCpuRmsNorm) {
  const RmsNormShape s = GetParam();
  const int in_rows = s.gather ? 2 * s.rows + 3 : s.rows;
  std::mt19937 rng(s.width * 13 + s.rows);
  std::normal_distribution<float> normal(0.5f, 3.0f);
  std::vector<float> in(s.in_offset + static_cast<size_t>(in_rows) * s.in_stride), weight(s.width);
  for (float& e : in) e = normal(rng);
  for (float& e : weight) e = 1.0f + 0.2f * normal(rng);
  std::vector<int32_t> row_index(s.rows);
  for (int r = 0; r < s.rows; ++r) row_index[r] = s.gather ? (r * 7 + 2) % in_rows : r;
  const float eps = 1e-5f;

  std::vector<float> want(static_cast<size_t>(s.rows) * s.out_stride, 0.0f);
  for (int r = 0; r < s.rows; ++r) {
    RmsNorm(in.data() + s.in_offset + static_cast<size_t>(row_index[r]) * s.in_stride, s.in_stride, weight.data(), 1,
            s.width, eps, want.data() + static_cast<size_t>(r) * s.out_stride, s.out_stride);
  }

  testing::DeviceBuffer<float> d_in(in), d_weight(weight);
  testing::DeviceBuffer<int32_t> d_index(row_index);
  // Poison with bf16 NaN: an unwritten element fails; the gaps between rows must stay poisoned.
  const std::vector<uint16_t> poison(want.size(), testing::kBf16Nan);
  testing::DeviceBuffer<uint16_t> d_out(poison);
  RmsNormArgs args;
  args.num_rows = s.rows;
  args.width = s.width;
  args.in = d_in.data() + s.in_offset;
  args.in_stride = s.in_stride;
  args.row_index = s.gather ? d_index.data() : nullptr;
  args.weight = d_weight.data();
  args.eps = eps;
  args.out = reinterpret_cast<__nv_bfloat16*>(d_out.data());
  args.out_stride = s.out_stride;
  ASSERT_EQ(LaunchRmsNorm(args, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  const std::vector<uint16_t> out = d_out.ToHost();
  std::vector<uint16_t> got;
  std::vector<float> want_rows;
  for (int r = 0; r < s.rows; ++r) {
    for (int i = 0; i < s.out_stride; ++i) {
      const size_t at = static_cast<size_t>(r) * s.out_stride + i;
      if (i < s.width) {
        got.push_back(out[at]);
        want_rows.push_back(want[at]);
      } else {
        EXPECT_EQ(out[at], testing::kBf16Nan) << "row " << r << " written past its width at " << i;
      }
    }
  }
  testing::ExpectBf16Close(got, want_rows, "out");
}

INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormCudaTest,
                         ::testing::Values(RmsNormShape{7, 2048, 2048, 2048, false, 0},
                                           RmsNormShape{5, 1024, 1036, 1032, true, 0},
                                           RmsNormShape{3, 1023, 1030, 1031, true, 0},
                                           RmsNormShape{4, 64, 68, 64, false, 1},
                                           RmsNormShape{2, 16384, 16388, 16384, true, 0},
                                           RmsNormShape{1, 5, 5, 5, false, 0}),
                         [](const auto& info) {
                           const RmsNormShape& s = info.param;
                           return "R" + std::to_string(s.rows) + "_W" + std::to_string(s.width) + "_in" +
                                  std::to_string(s.in_stride) + "_out" + std::to_string(s.out_stride) +
                                  (s.gather ? "_gather" : "") + (s.in_offset ? "_unaligned" : "");
                         });

}  // namespace
}  // namespace glaserve::kernels::cuda
