// The CUDA forget gate against a double-precision reference of the CPU runner's formula
// (engine/cpu_model_runner.cc: logsigmoid(up_proj low_rank + bias) / 16, clamped): token
// counts that do and do not fill a block's token group, gate widths that do and do not fill
// a column block, ranks with and without 16-byte rows, strides, a clamp, and pre-activations
// far past the range where a naive logsigmoid overflows. Skips where no GPU is.
#include "kernels/cuda/gla_gate.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/activations.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

struct GateShape {
  int tokens, rank, gate_dim, low_rank_stride, out_stride;
  float clamp_min;
  float scale;  // of the inputs: 30 sends pre-activations to +-hundreds
};

class GlaGateCudaTest : public ::testing::TestWithParam<GateShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(GlaGateCudaTest, MatchesReference) {
  const GateShape s = GetParam();
  std::mt19937 rng(s.gate_dim * 3 + s.tokens + s.rank);
  std::normal_distribution<float> normal;
  std::vector<float> low_rank(static_cast<size_t>(s.tokens) * s.low_rank_stride), up(s.gate_dim * s.rank),
      bias(s.gate_dim);
  for (float& e : low_rank) e = normal(rng) * s.scale;
  for (float& e : up) e = normal(rng) / std::sqrt(float(s.rank));
  for (float& e : bias) e = normal(rng);
  const float inv_normalizer = 1.0f / 16;

  std::vector<float> want(static_cast<size_t>(s.tokens) * s.out_stride, std::nanf(""));
  for (int t = 0; t < s.tokens; ++t) {
    for (int i = 0; i < s.gate_dim; ++i) {
      double dot = 0;
      for (int r = 0; r < s.rank; ++r) dot += double(up[i * s.rank + r]) * low_rank[t * s.low_rank_stride + r];
      want[t * s.out_stride + i] =
          std::max(LogSigmoid(static_cast<float>(dot) + bias[i]) * inv_normalizer, s.clamp_min);
    }
  }

  testing::DeviceBuffer<float> d_low_rank(low_rank), d_up(up), d_bias(bias);
  testing::DeviceBuffer<float> d_out(std::vector<float>(want.size(), std::nanf("")));
  GlaGateArgs args;
  args.num_tokens = s.tokens;
  args.low_rank_dim = s.rank;
  args.gate_dim = s.gate_dim;
  args.low_rank = d_low_rank.data();
  args.low_rank_stride = s.low_rank_stride;
  args.up_proj = d_up.data();
  args.bias = d_bias.data();
  args.inv_normalizer = inv_normalizer;
  args.clamp_min = s.clamp_min;
  args.out = d_out.data();
  args.out_stride = s.out_stride;
  ASSERT_EQ(LaunchGlaGate(args, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  // Compare the written columns; the gaps past gate_dim must stay NaN (never written).
  const std::vector<float> out = d_out.ToHost();
  std::vector<float> got_cols, want_cols;
  int gap_writes = 0;
  for (int t = 0; t < s.tokens; ++t) {
    for (int i = 0; i < s.out_stride; ++i) {
      if (i < s.gate_dim) {
        got_cols.push_back(out[t * s.out_stride + i]);
        want_cols.push_back(want[t * s.out_stride + i]);
      } else {
        gap_writes += !std::isnan(out[t * s.out_stride + i]);
      }
    }
  }
  EXPECT_EQ(gap_writes, 0);
  // fp32 dot products of length R against a double one: rounding only.
  testing::ExpectAllClose(got_cols, want_cols, 2e-6f, 1e-5f, "out");
  for (float a : got_cols) ASSERT_LE(a, 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Shapes, GlaGateCudaTest,
                         ::testing::Values(GateShape{1, 16, 512, 16, 512, -INFINITY, 1},
                                           GateShape{13, 16, 1000, 20, 1003, -INFINITY, 1},
                                           GateShape{64, 16, 1024, 16, 1024, -0.05f, 2},
                                           GateShape{9, 7, 130, 9, 131, -INFINITY, 1},
                                           GateShape{17, 64, 256, 70, 260, -INFINITY, 30}),
                         [](const auto& info) {
                           const GateShape& s = info.param;
                           return "T" + std::to_string(s.tokens) + "_R" + std::to_string(s.rank) + "_G" +
                                  std::to_string(s.gate_dim) + "_lr" + std::to_string(s.low_rank_stride) +
                                  "_out" + std::to_string(s.out_stride) +
                                  (std::isinf(s.clamp_min) ? "" : "_clamped") +
                                  (s.scale > 10 ? "_large" : "");
                         });

}  // namespace
}  // namespace glaserve::kernels::cuda
