// The CUDA SwiGLU against the CPU runner's loop (silu(gate) * up, kernels/cpu/activations.h),
// rounded to bf16: the MLP widths of the published checkpoints, odd widths, strides, an
// unaligned input, and large gate values. Tolerance: one bf16 ulp of the rounded
// reference. Skips where no GPU is.
#include "kernels/cuda/swiglu.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/half_convert.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

struct SwiGluShape {
  int tokens, width, in_stride, out_stride;
  int in_offset;  // floats the input starts past an allocation: 1 breaks 16-byte alignment
  float scale;
};

class SwiGluCudaTest : public ::testing::TestWithParam<SwiGluShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(SwiGluCudaTest, MatchesCpuLoop) {
  const SwiGluShape s = GetParam();
  std::mt19937 rng(s.width * 5 + s.tokens);
  std::normal_distribution<float> normal;
  std::vector<float> in(s.in_offset + static_cast<size_t>(s.tokens) * s.in_stride);
  for (float& e : in) e = normal(rng) * s.scale;

  std::vector<float> want(static_cast<size_t>(s.tokens) * s.width);
  for (int t = 0; t < s.tokens; ++t) {
    const float* gate = in.data() + s.in_offset + static_cast<size_t>(t) * s.in_stride;
    for (int j = 0; j < s.width; ++j) want[t * s.width + j] = Silu(gate[j]) * gate[s.width + j];
  }

  testing::DeviceBuffer<float> d_in(in);
  testing::DeviceBuffer<uint16_t> d_out(std::vector<uint16_t>(static_cast<size_t>(s.tokens) * s.out_stride, testing::kBf16Nan));
  SwiGluArgs args;
  args.num_tokens = s.tokens;
  args.width = s.width;
  args.in = d_in.data() + s.in_offset;
  args.in_stride = s.in_stride;
  args.out = reinterpret_cast<__nv_bfloat16*>(d_out.data());
  args.out_stride = s.out_stride;
  ASSERT_EQ(LaunchSwiGlu(args, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  const std::vector<uint16_t> out = d_out.ToHost();
  std::vector<uint16_t> got;
  for (int t = 0; t < s.tokens; ++t) {
    for (int j = 0; j < s.out_stride; ++j) {
      if (j < s.width) {
        got.push_back(out[t * s.out_stride + j]);
      } else {
        EXPECT_EQ(out[t * s.out_stride + j], testing::kBf16Nan) << "token " << t << " written past its width at " << j;
      }
    }
  }
  testing::ExpectBf16Close(got, want, "out");
}

INSTANTIATE_TEST_SUITE_P(Shapes, SwiGluCudaTest,
                         ::testing::Values(SwiGluShape{7, 2816, 2 * 2816, 2816, 0, 1},
                                           SwiGluShape{3, 5632, 2 * 5632 + 4, 5632 + 8, 0, 1},
                                           SwiGluShape{5, 1001, 2003, 1003, 0, 2},
                                           SwiGluShape{4, 256, 512, 256, 1, 1},
                                           SwiGluShape{2, 64, 128, 64, 0, 40}),
                         [](const auto& info) {
                           const SwiGluShape& s = info.param;
                           return "T" + std::to_string(s.tokens) + "_W" + std::to_string(s.width) + "_in" +
                                  std::to_string(s.in_stride) + "_out" + std::to_string(s.out_stride) +
                                  (s.in_offset ? "_unaligned" : "") + (s.scale > 10 ? "_large" : "");
                         });

}  // namespace
}  // namespace glaserve::kernels::cuda
