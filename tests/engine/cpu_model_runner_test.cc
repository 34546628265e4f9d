// The CPU runner's batching and state hand-off: how tokens are grouped into Forward
// calls (packed batches, prompt pieces, decode steps) must not change the numbers.
// Agreement with an independent implementation of the model is checked end to end by
// tests/e2e/generate_matches_reference.py.
#include "engine/cpu_model_runner.h"

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve {
namespace {

using ::glaserve::testing::MakeTempDir;
using ::glaserve::testing::WriteRandomCheckpoint;

class CpuModelRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("runner");
    // Odd head count with kv groups, untied head: the general case.
    ASSERT_TRUE(WriteRandomCheckpoint(
        dir, {"--hidden-size", "96", "--num-layers", "2", "--num-heads", "3", "--vocab-size", "200",
              "--no-tie-word-embeddings", "--seed", "11"}));
    auto checkpoint = Checkpoint::Open(dir);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    runner_ = std::make_unique<CpuModelRunner>(**checkpoint, /*num_slots=*/4);
    vocab_ = runner_->config().vocab_size;
  }

  std::vector<int32_t> RandomTokens(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(n);
    for (int32_t& id : ids) id = static_cast<int32_t>(rng() % vocab_);
    return ids;
  }

  // Runs `tokens` alone in `slot` from a zero state in one call; returns the last logits.
  std::vector<float> RunAlone(int32_t slot, const std::vector<int32_t>& tokens) {
    runner_->ResetSlot(slot);
    std::vector<float> logits(vocab_);
    SequenceBatchEntry entry{slot, tokens, true};
    runner_->Forward({&entry, 1}, logits);
    return logits;
  }

  void ExpectNear(std::span<const float> got, std::span<const float> want, float tol, const char* what) {
    ASSERT_EQ(got.size(), want.size());
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    EXPECT_LE(worst, tol) << what << ": max abs difference " << worst;
  }

  std::unique_ptr<CpuModelRunner> runner_;
  int64_t vocab_ = 0;
};

TEST_F(CpuModelRunnerTest, PackedBatchEqualsEachSequenceAlone) {
  std::vector<std::vector<int32_t>> prompts = {RandomTokens(70, 1), RandomTokens(1, 2),
                                               RandomTokens(129, 3), RandomTokens(5, 4)};
  std::vector<std::vector<float>> alone;
  for (size_t i = 0; i < prompts.size(); ++i) alone.push_back(RunAlone(i, prompts[i]));

  std::vector<SequenceBatchEntry> batch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    runner_->ResetSlot(i);
    batch.push_back({static_cast<int32_t>(i), prompts[i], true});
  }
  std::vector<float> logits(prompts.size() * vocab_);
  runner_->Forward(batch, logits);
  for (size_t i = 0; i < prompts.size(); ++i) {
    ExpectNear(std::span<const float>(logits).subspan(i * vocab_, vocab_), alone[i], 1e-4, "batched logits");
  }
}

TEST_F(CpuModelRunnerTest, PromptInPiecesEqualsOnePrefill) {
  std::vector<int32_t> prompt = RandomTokens(200, 5);
  std::vector<float> whole = RunAlone(0, prompt);
  std::vector<float> whole_state(runner_->SlotState(0).begin(), runner_->SlotState(0).end());

  runner_->ResetSlot(1);
  std::vector<float> logits(vocab_);
  size_t start = 0;
  for (size_t length : {100, 37, 63}) {
    SequenceBatchEntry entry{1, std::span<const int32_t>(prompt).subspan(start, length),
                             start + length == prompt.size()};
    runner_->Forward({&entry, 1}, logits);
    start += length;
  }
  ExpectNear(logits, whole, 1e-4, "piecewise logits");
  ExpectNear(runner_->SlotState(1), whole_state, 1e-4, "piecewise state");
}

// Prefill (chunkwise) then decode (recurrent) must equal prefilling the longer sequence:
// the state hand-off between the two forms.
TEST_F(CpuModelRunnerTest, PrefillThenDecodeEqualsLongerPrefill) {
  std::vector<int32_t> tokens = RandomTokens(90, 6);
  std::vector<float> want = RunAlone(0, tokens);

  runner_->ResetSlot(2);
  std::vector<float> logits(vocab_);
  SequenceBatchEntry prefill{2, std::span<const int32_t>(tokens).first(80), true};
  runner_->Forward({&prefill, 1}, logits);
  for (size_t t = 80; t < tokens.size(); ++t) {
    SequenceBatchEntry step{2, std::span<const int32_t>(tokens).subspan(t, 1), true};
    runner_->Forward({&step, 1}, logits);
  }
  ExpectNear(logits, want, 1e-4, "decode after prefill");
}

// A step that mixes decode tokens of running sequences with a new prompt, as the
// scheduler builds them; entries without want_logits leave their rows alone.
TEST_F(CpuModelRunnerTest, MixedDecodeAndPrefillStep) {
  std::vector<int32_t> a = RandomTokens(33, 7), b = RandomTokens(50, 8);
  std::vector<float> want_a = RunAlone(0, a), want_b = RunAlone(1, b);

  runner_->ResetSlot(2);
  runner_->ResetSlot(3);
  std::vector<float> logits(3 * vocab_, 42.0f);
  SequenceBatchEntry first[] = {{2, std::span<const int32_t>(a).first(32), true}};
  runner_->Forward(first, logits);
  SequenceBatchEntry mixed[] = {{2, std::span<const int32_t>(a).subspan(32, 1), true},
                                {3, std::span<const int32_t>(b).first(20), false},
                                {1, std::span<const int32_t>(b).first(1), true}};
  runner_->ResetSlot(1);
  runner_->Forward(mixed, logits);
  ExpectNear(std::span<const float>(logits).first(vocab_), want_a, 1e-4, "decode entry");
  for (int64_t i = vocab_; i < 2 * vocab_; ++i) ASSERT_EQ(logits[i], 42.0f) << "row without want_logits written";
  SequenceBatchEntry rest[] = {{3, std::span<const int32_t>(b).subspan(20), true}};
  runner_->Forward(rest, logits);
  ExpectNear(std::span<const float>(logits).first(vocab_), want_b, 1e-4, "prompt finished later");
}

TEST_F(CpuModelRunnerTest, StateSizeIsFixed) {
  const ModelConfig& c = runner_->config();
  EXPECT_EQ(runner_->state_bytes_per_sequence(),
            c.num_hidden_layers * c.num_kv_heads * c.head_k_dim * c.head_v_dim * 4);
  EXPECT_EQ(runner_->SlotState(0).size() * sizeof(float), runner_->state_bytes_per_sequence());
}

// A state read out of one slot and written into another continues exactly as the
// original: the contract the prefix cache, sessions and state export rely on.
TEST_F(CpuModelRunnerTest, StateCopiedOutAndBackContinuesIdentically) {
  const std::vector<int32_t> prompt = RandomTokens(70, 5), next = RandomTokens(3, 6);
  RunAlone(0, prompt);
  std::vector<std::byte> saved(runner_->state_bytes_per_sequence());
  runner_->ReadSlotState(0, saved);
  runner_->ResetSlot(1);
  runner_->WriteSlotState(1, saved);
  runner_->ResetSlot(2);
  runner_->CopySlotState(0, 2);

  std::vector<float> logits(3 * vocab_);
  SequenceBatchEntry entries[] = {{0, next, true}, {1, next, true}, {2, next, true}};
  runner_->Forward(entries, logits);
  // BLAS may round the rows of one batch differently (edge blocks): a few ulps, not 0.
  const std::span<const float> all(logits);
  ExpectNear(all.subspan(vocab_, vocab_), all.subspan(0, vocab_), 1e-4f, "written slot");
  ExpectNear(all.subspan(2 * vocab_, vocab_), all.subspan(0, vocab_), 1e-4f, "copied slot");
  EXPECT_EQ(runner_->state_dtype_name(), "f32");
}

}  // namespace
}  // namespace glaserve
