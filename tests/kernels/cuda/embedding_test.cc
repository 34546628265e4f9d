// The CUDA embedding lookup against a plain copy on the CPU: aligned and unaligned tables,
// odd widths, repeated ids, and out-of-range ids when the vocab size is given. Widening
// bf16 to fp32 is exact, so the comparison is too. Skips where no GPU is.
#include "kernels/cuda/embedding.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/half_convert.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

struct EmbeddingShape {
  int tokens, vocab, hidden;
  int table_offset;      // elements the table starts past an allocation: 1 breaks 16-byte alignment
  bool pass_vocab_size;  // also feed out-of-range ids, which must give zero rows
};

class EmbeddingCudaTest : public ::testing::TestWithParam<EmbeddingShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(EmbeddingCudaTest, MatchesTableRows) {
  const EmbeddingShape s = GetParam();
  std::mt19937 rng(s.hidden * 31 + s.tokens);
  std::normal_distribution<float> normal;
  std::vector<uint16_t> table(s.table_offset + static_cast<size_t>(s.vocab) * s.hidden);
  for (uint16_t& e : table) e = FloatToBf16(normal(rng));
  std::uniform_int_distribution<int32_t> pick(0, s.vocab - 1);
  std::vector<int32_t> ids(s.tokens);
  for (int32_t& id : ids) id = pick(rng);
  ids[s.tokens - 1] = ids[0];  // a repeated id
  if (s.pass_vocab_size) {
    ids[1] = s.vocab;
    ids[2] = -3;
  }

  std::vector<float> want(static_cast<size_t>(s.tokens) * s.hidden, 0.0f);
  for (int t = 0; t < s.tokens; ++t) {
    if (ids[t] < 0 || ids[t] >= s.vocab) continue;
    for (int i = 0; i < s.hidden; ++i) {
      want[t * s.hidden + i] = Bf16ToFloat(table[s.table_offset + static_cast<size_t>(ids[t]) * s.hidden + i]);
    }
  }

  testing::DeviceBuffer<uint16_t> d_table(table);
  testing::DeviceBuffer<int32_t> d_ids(ids);
  testing::DeviceBuffer<float> d_out(std::vector<float>(want.size(), std::nanf("")));  // unwritten stays NaN
  EmbeddingArgs args;
  args.num_tokens = s.tokens;
  args.hidden_size = s.hidden;
  args.token_ids = d_ids.data();
  args.table = reinterpret_cast<const __nv_bfloat16*>(d_table.data() + s.table_offset);
  args.out = d_out.data();
  args.vocab_size = s.pass_vocab_size ? s.vocab : 0;
  ASSERT_EQ(LaunchEmbedding(args, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  testing::ExpectAllClose(d_out.ToHost(), want, 0.0f, 0.0f, "out");
}

INSTANTIATE_TEST_SUITE_P(Shapes, EmbeddingCudaTest,
                         ::testing::Values(EmbeddingShape{5, 100, 2048, 0, false},
                                           EmbeddingShape{9, 50, 64, 1, true},
                                           EmbeddingShape{3, 17, 37, 0, true},
                                           EmbeddingShape{130, 1000, 4104, 0, true}),
                         [](const auto& info) {
                           const EmbeddingShape& s = info.param;
                           return "T" + std::to_string(s.tokens) + "_D" + std::to_string(s.hidden) +
                                  (s.table_offset ? "_unaligned" : "") + (s.pass_vocab_size ? "_checked" : "");
                         });

}  // namespace
}  // namespace glaserve::kernels::cuda
