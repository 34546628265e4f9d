// The CUDA gated head norm against the CPU runner's two steps (kernels/cpu RmsNorm over
// each head's dv values, then * silu(g)), rounded to bf16: with and without the output
// gate, strides, dv with and without 16-byte rows, an unaligned input. Tolerance: one bf16
// ulp of the rounded reference. Skips where no GPU is.
#include "kernels/cuda/gated_head_norm.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/half_convert.h"
#include "kernels/cpu/rms_norm.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

struct HeadNormShape {
  int tokens, heads, head_dim, in_stride, gate_stride, out_stride;
  bool gated;
  int in_offset;  // floats the input starts past an allocation: 1 breaks 16-byte alignment
};

class GatedHeadNormCudaTest : public ::testing::TestWithParam<HeadNormShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(GatedHeadNormCudaTest, MatchesCpuNormAndGate) {
  const HeadNormShape s = GetParam();
  const int width = s.heads * s.head_dim;
  std::mt19937 rng(s.head_dim * 11 + s.tokens + s.heads);
  std::normal_distribution<float> normal;
  std::vector<float> in(s.in_offset + static_cast<size_t>(s.tokens) * s.in_stride),
      gate(static_cast<size_t>(s.tokens) * s.gate_stride), weight(s.head_dim);
  for (float& e : in) e = normal(rng) * 2.0f;
  for (float& e : gate) e = normal(rng) * 3.0f;
  for (float& e : weight) e = 1.0f + 0.3f * normal(rng);
  const float eps = 1e-6f;

  std::vector<float> want(static_cast<size_t>(s.tokens) * width);
  for (int t = 0; t < s.tokens; ++t) {
    RmsNorm(in.data() + s.in_offset + static_cast<size_t>(t) * s.in_stride, s.head_dim, weight.data(), s.heads,
            s.head_dim, eps, want.data() + static_cast<size_t>(t) * width, s.head_dim);
    if (!s.gated) continue;
    for (int j = 0; j < width; ++j) want[t * width + j] *= Silu(gate[t * s.gate_stride + j]);
  }

  testing::DeviceBuffer<float> d_in(in), d_gate(gate), d_weight(weight);
  testing::DeviceBuffer<uint16_t> d_out(std::vector<uint16_t>(static_cast<size_t>(s.tokens) * s.out_stride, testing::kBf16Nan));
  GatedHeadNormArgs args;
  args.num_tokens = s.tokens;
  args.num_heads = s.heads;
  args.head_dim = s.head_dim;
  args.in = d_in.data() + s.in_offset;
  args.in_stride = s.in_stride;
  args.weight = d_weight.data();
  args.eps = eps;
  args.gate = s.gated ? d_gate.data() : nullptr;
  args.gate_stride = s.gate_stride;
  args.out = reinterpret_cast<__nv_bfloat16*>(d_out.data());
  args.out_stride = s.out_stride;
  ASSERT_EQ(LaunchGatedHeadNorm(args, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  const std::vector<uint16_t> out = d_out.ToHost();
  std::vector<uint16_t> got;
  for (int t = 0; t < s.tokens; ++t) {
    for (int j = 0; j < s.out_stride; ++j) {
      if (j < width) {
        got.push_back(out[t * s.out_stride + j]);
      } else {
        EXPECT_EQ(out[t * s.out_stride + j], testing::kBf16Nan) << "token " << t << " written past its width at " << j;
      }
    }
  }
  testing::ExpectBf16Close(got, want, "out");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GatedHeadNormCudaTest,
    ::testing::Values(HeadNormShape{5, 4, 256, 1024, 1024, 1024, true, 0},
                      HeadNormShape{33, 4, 512, 2048 + 64, 4096, 2048 + 8, true, 0},
                      HeadNormShape{3, 2, 100, 204, 200, 208, true, 0},
                      HeadNormShape{4, 3, 37, 113, 115, 117, true, 0},
                      HeadNormShape{6, 4, 64, 256, 256, 256, false, 0},
                      HeadNormShape{2, 4, 128, 512, 512, 512, true, 1}),
    [](const auto& info) {
      const HeadNormShape& s = info.param;
      return "T" + std::to_string(s.tokens) + "_H" + std::to_string(s.heads) + "_dv" + std::to_string(s.head_dim) +
             "_in" + std::to_string(s.in_stride) + "_out" + std::to_string(s.out_stride) +
             (s.gated ? "_gated" : "_ungated") + (s.in_offset ? "_unaligned" : "");
    });

}  // namespace
}  // namespace glaserve::kernels::cuda
