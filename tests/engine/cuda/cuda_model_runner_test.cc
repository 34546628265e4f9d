// The CUDA runner against the CPU runner on random checkpoints (bf16 weights, so both
// read the same numbers): prompt logits, greedy tokens over 64 steps, prefill/decode
// hand-off, graph replay, state copies and the bf16 state. Skips where there is no GPU.
//
// Tolerances: the GPU feeds bf16 activations to its matmuls and bf16 operands to the
// chunkwise kernel's tensor cores (the CPU runner keeps fp32), so logits differ by ~1e-2
// of their norm; a relative-norm bound of 3e-2 passes that and fails on any wrong
// indexing, which lands near 1.
#include "engine/cuda/cuda_model_runner.h"

#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/cpu_model_runner.h"
#include "engine/cuda/cuda_device.h"
#include "gtest/gtest.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve {
namespace {

using ::glaserve::testing::MakeTempDir;
using ::glaserve::testing::WriteRandomCheckpoint;
using kernels::cuda::StateDType;

constexpr int32_t kSlots = 8;

struct RunnerShape {
  const char* name;
  std::vector<std::string> args;  // for scripts/make_random_checkpoint.py
};

// gtest prints a parameter by this (else as raw bytes in every test's name).
void PrintTo(const RunnerShape& shape, std::ostream* out) { *out << shape.name; }

// ||got - want|| / ||want|| over a whole row.
double RelativeError(std::span<const float> got, std::span<const float> want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    diff += (got[i] - want[i]) * double(got[i] - want[i]);
    norm += want[i] * double(want[i]);
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

int32_t Argmax(std::span<const float> row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// The gap between the best and second-best logit: below it, rounding may pick either.
float TopTwoMargin(std::span<const float> row) {
  std::vector<float> sorted(row.begin(), row.end());
  std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
  return sorted[0] - sorted[1];
}

class CudaModelRunnerTest : public ::testing::TestWithParam<RunnerShape> {
 protected:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA GPU on this machine";
    auto dir = MakeTempDir("cuda_runner");
    ASSERT_TRUE(WriteRandomCheckpoint(dir, GetParam().args));
    auto checkpoint = Checkpoint::Open(dir);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    checkpoint_ = *std::move(checkpoint);
    ASSERT_TRUE(CudaModelRunner::Supports(checkpoint_->config()).ok());
    cpu_ = std::make_unique<CpuModelRunner>(*checkpoint_, kSlots);
    gpu_ = MakeGpu(StateDType::kF32, /*graphs=*/true);
    vocab_ = cpu_->config().vocab_size;
  }

  std::unique_ptr<CudaModelRunner> MakeGpu(StateDType state, bool graphs) {
    CudaRunnerOptions options;
    options.num_slots = kSlots;
    options.state_dtype = state;
    options.max_batch_tokens = 256;  // small, so long prompts exercise growing
    options.use_cuda_graphs = graphs;
    return std::make_unique<CudaModelRunner>(checkpoint_->config(), CudaModelWeights::Load(*checkpoint_), options);
  }

  std::vector<int32_t> RandomTokens(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(n);
    for (int32_t& id : ids) id = static_cast<int32_t>(rng() % vocab_);
    return ids;
  }

  // One Forward of `entries` on `runner`, returning [entries, vocab] logits.
  std::vector<float> Run(ModelRunner& runner, const std::vector<SequenceBatchEntry>& entries) {
    std::vector<float> logits(entries.size() * vocab_, NAN);
    runner.Forward(entries, logits);
    return logits;
  }

  std::span<const float> Row(const std::vector<float>& logits, size_t i) {
    return std::span<const float>(logits).subspan(i * vocab_, vocab_);
  }

  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<CpuModelRunner> cpu_;
  std::unique_ptr<CudaModelRunner> gpu_;
  int64_t vocab_ = 0;
};

TEST_P(CudaModelRunnerTest, PromptLogitsMatchCpuRunner) {
  // Lengths around the chunk size (64) and sub-chunk size (16), one longer than the
  // activations' first capacity, and a single token (run by the decode kernel).
  const std::vector<int> lengths = {1, 15, 64, 65, 130, 300};
  std::vector<std::vector<int32_t>> prompts;
  std::vector<SequenceBatchEntry> entries;
  for (size_t i = 0; i < lengths.size(); ++i) prompts.push_back(RandomTokens(lengths[i], 100 + i));
  for (size_t i = 0; i < lengths.size(); ++i) {
    cpu_->ResetSlot(i);
    gpu_->ResetSlot(i);
    entries.push_back({static_cast<int32_t>(i), prompts[i], true});
  }
  const std::vector<float> want = Run(*cpu_, entries), got = Run(*gpu_, entries);
  for (size_t i = 0; i < lengths.size(); ++i) {
    EXPECT_LT(RelativeError(Row(got, i), Row(want, i)), 3e-2) << "prompt of " << lengths[i] << " tokens";
  }
}

TEST_P(CudaModelRunnerTest, GreedyTokensMatchCpuRunnerFor64Steps) {
  // Three sequences decoding together (graph replay, padded to a bucket). Every step's
  // logits must be close (as in PromptLogitsMatchCpuRunner) and the greedy tokens equal,
  // unless the CPU's best two logits are closer than twice the largest GPU/CPU difference
  // of that very row: then rounding may legitimately pick either. Both runners are always
  // fed the CPU's token, so one such tie does not end the comparison of its sequence.
  constexpr int kSteps = 64, kSeqs = 3;
  std::vector<std::vector<int32_t>> tokens(kSeqs);
  std::vector<SequenceBatchEntry> entries;
  std::vector<std::vector<int32_t>> prompts;
  for (int s = 0; s < kSeqs; ++s) prompts.push_back(RandomTokens(40 + 30 * s, 7 + s));
  for (int s = 0; s < kSeqs; ++s) {
    cpu_->ResetSlot(s);
    gpu_->ResetSlot(s);
    entries.push_back({s, prompts[s], true});
  }
  std::vector<float> cpu_logits = Run(*cpu_, entries), gpu_logits = Run(*gpu_, entries);
  int equal_steps = 0;
  for (int step = 0; step < kSteps; ++step) {
    for (int s = 0; s < kSeqs; ++s) {
      const std::span<const float> want_row = Row(cpu_logits, s), got_row = Row(gpu_logits, s);
      const int32_t want = Argmax(want_row), got = Argmax(got_row);
      ASSERT_LT(RelativeError(got_row, want_row), 3e-2) << "sequence " << s << " step " << step;
      if (want != got) {
        float max_diff = 0;
        for (size_t i = 0; i < want_row.size(); ++i) max_diff = std::max(max_diff, std::fabs(got_row[i] - want_row[i]));
        ASSERT_LT(TopTwoMargin(want_row), 2 * max_diff)
            << "sequence " << s << " step " << step << ": GPU chose " << got << ", CPU " << want
            << " by a margin larger than the rounding";
      } else {
        ++equal_steps;
      }
      tokens[s].push_back(want);
    }
    entries.clear();
    for (int s = 0; s < kSeqs; ++s) entries.push_back({s, std::span<const int32_t>(&tokens[s].back(), 1), true});
    cpu_logits = Run(*cpu_, entries);
    gpu_logits = Run(*gpu_, entries);
  }
  RecordProperty("greedy_steps_equal", std::to_string(equal_steps));
  // Near-ties are the exception, or the test proved nothing.
  EXPECT_GE(equal_steps, kSteps * kSeqs * 3 / 4);
}

TEST_P(CudaModelRunnerTest, PrefillThenDecodeEqualsLongerPrefill) {
  const std::vector<int32_t> tokens = RandomTokens(100, 3);
  gpu_->ResetSlot(0);
  Run(*gpu_, {{0, std::span<const int32_t>(tokens).first(70), false}});
  std::vector<float> stepped;
  for (int t = 70; t < 100; ++t) stepped = Run(*gpu_, {{0, std::span<const int32_t>(tokens).subspan(t, 1), true}});
  gpu_->ResetSlot(1);
  const std::vector<float> whole = Run(*gpu_, {{1, tokens, true}});
  // The chunkwise kernel multiplies in bf16 (~3e-3 per layer), the decode kernel in fp32.
  EXPECT_LT(RelativeError(Row(stepped, 0), Row(whole, 0)), 3e-2);
}

TEST_P(CudaModelRunnerTest, MixedDecodeAndPrefillStepMatchesCpu) {
  const std::vector<int32_t> a = RandomTokens(50, 1), b = RandomTokens(90, 2), next = RandomTokens(1, 3);
  for (ModelRunner* runner : {static_cast<ModelRunner*>(cpu_.get()), static_cast<ModelRunner*>(gpu_.get())}) {
    runner->ResetSlot(2);
    runner->ResetSlot(5);
  }
  Run(*cpu_, {{2, a, false}});
  Run(*gpu_, {{2, a, false}});
  // A decode token for slot 2 and a whole prompt for slot 5 in one step.
  const std::vector<SequenceBatchEntry> mixed = {{5, b, true}, {2, next, true}};
  const std::vector<float> want = Run(*cpu_, mixed), got = Run(*gpu_, mixed);
  EXPECT_LT(RelativeError(Row(got, 0), Row(want, 0)), 3e-2) << "prompt";
  EXPECT_LT(RelativeError(Row(got, 1), Row(want, 1)), 3e-2) << "decode";
}

TEST_P(CudaModelRunnerTest, GraphReplayEqualsEagerLaunches) {
  std::unique_ptr<CudaModelRunner> eager = MakeGpu(StateDType::kF32, /*graphs=*/false);
  const std::vector<int32_t> prompt = RandomTokens(33, 9);
  for (CudaModelRunner* runner : {gpu_.get(), eager.get()}) {
    for (int s = 0; s < 3; ++s) {
      runner->ResetSlot(s);
      Run(*runner, {{s, prompt, false}});
    }
  }
  std::vector<float> graph_logits, eager_logits;
  for (int step = 0; step < 5; ++step) {  // the first step of a bucket captures, later ones replay
    const std::vector<int32_t> ids = RandomTokens(3, 50 + step);
    std::vector<SequenceBatchEntry> entries;
    for (int s = 0; s < 3; ++s) entries.push_back({s, std::span<const int32_t>(&ids[s], 1), true});
    graph_logits = Run(*gpu_, entries);
    eager_logits = Run(*eager, entries);
    for (int s = 0; s < 3; ++s) {
      // cuBLAS may pick another algorithm for the padded batch: close, not bitwise.
      EXPECT_LT(RelativeError(Row(graph_logits, s), Row(eager_logits, s)), 1e-3) << "step " << step << " seq " << s;
    }
  }
}

TEST_P(CudaModelRunnerTest, StateCopiedOutAndBackContinuesIdentically) {
  const std::vector<int32_t> prompt = RandomTokens(80, 4), next = RandomTokens(1, 5);
  gpu_->ResetSlot(0);
  Run(*gpu_, {{0, prompt, false}});
  std::vector<std::byte> saved(gpu_->state_bytes_per_sequence());
  gpu_->ReadSlotState(0, saved);
  gpu_->WriteSlotState(1, saved);
  gpu_->CopySlotState(0, 2);
  const std::vector<float> logits = Run(*gpu_, {{0, next, true}, {1, next, true}, {2, next, true}});
  EXPECT_LT(RelativeError(Row(logits, 1), Row(logits, 0)), 1e-5);
  EXPECT_LT(RelativeError(Row(logits, 2), Row(logits, 0)), 1e-5);
  // The CPU runner's state has the same layout and dtype: it continues the same way.
  cpu_->WriteSlotState(3, saved);
  const std::vector<float> cpu_logits = Run(*cpu_, {{3, next, true}});
  EXPECT_LT(RelativeError(Row(logits, 0), Row(cpu_logits, 0)), 3e-2);
}

// The prefix cache's snapshot: started after a step, finished after the next one, it
// holds the state as it was when started, not the state the next step left.
TEST_P(CudaModelRunnerTest, SnapshotIsTheStateWhenStartedNotAfterTheNextStep) {
  const std::vector<int32_t> prompt = RandomTokens(70, 14), next = RandomTokens(1, 15);
  gpu_->ResetSlot(0);
  gpu_->ResetSlot(1);
  Run(*gpu_, {{0, prompt, false}, {1, prompt, false}});
  const size_t n = gpu_->state_bytes_per_sequence();
  std::vector<std::byte> before(n), before1(n), snapshot0(n, std::byte{0x7f}), snapshot1(n, std::byte{0x7f}),
      after(n);
  gpu_->ReadSlotState(0, before);
  gpu_->ReadSlotState(1, before1);
  gpu_->StartReadSlotState(0, snapshot0);
  gpu_->StartReadSlotState(1, snapshot1);  // a second one in flight makes the buffers grow
  Run(*gpu_, {{0, next, true}, {1, next, true}});
  gpu_->FinishSlotStateReads();
  gpu_->ReadSlotState(0, after);
  EXPECT_TRUE(snapshot0 == before);
  EXPECT_TRUE(snapshot1 == before1);
  EXPECT_FALSE(after == before);
}

TEST_P(CudaModelRunnerTest, Bf16StateStaysCloseToF32State) {
  std::unique_ptr<CudaModelRunner> bf16 = MakeGpu(StateDType::kBF16, /*graphs=*/true);
  EXPECT_EQ(bf16->state_bytes_per_sequence() * 2, gpu_->state_bytes_per_sequence());
  EXPECT_EQ(bf16->state_dtype_name(), "bf16");
  const std::vector<int32_t> prompt = RandomTokens(200, 6);
  std::vector<float> f32_logits, bf16_logits;
  for (CudaModelRunner* runner : {gpu_.get(), bf16.get()}) runner->ResetSlot(0);
  f32_logits = Run(*gpu_, {{0, prompt, true}});
  bf16_logits = Run(*bf16, {{0, prompt, true}});
  const double error = RelativeError(Row(bf16_logits, 0), Row(f32_logits, 0));
  RecordProperty("bf16_state_relative_logit_error", std::to_string(error));
  EXPECT_LT(error, 5e-2);
}

// The engine's path on this backend: the token is drawn on the device and only ids and
// logprobs come back. Greedy must be the argmax of the very logits Forward returns.
TEST_P(CudaModelRunnerTest, SamplingOnDeviceFollowsTheLogits) {
  ASSERT_TRUE(gpu_->samples_on_device());
  const std::vector<int32_t> prompt = RandomTokens(45, 12), next = RandomTokens(1, 13);
  for (int s = 0; s < 3; ++s) {
    gpu_->ResetSlot(s);
    Run(*gpu_, {{s, prompt, false}});
  }
  const std::vector<float> logits = Run(*gpu_, {{0, next, true}});
  const std::span<const float> row = Row(logits, 0);
  double sum = 0;
  const float max_logit = *std::max_element(row.begin(), row.end());
  for (float x : row) sum += std::exp(double(x) - max_logit);
  const auto logprob = [&](int32_t id) { return float(row[id] - max_logit - std::log(sum)); };

  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.logprobs = 3;
  SamplingParams seeded;
  seeded.temperature = 1;
  seeded.top_p = 0.9f;
  std::vector<DeviceSamplingRequest> requests(2);
  requests[0] = {&greedy, 0, 0, {}, {}, {}};
  requests[1] = {&seeded, 42, 7, {}, {}, {}};
  std::vector<SampledToken> tokens(2);
  const std::vector<SequenceBatchEntry> step = {{1, next, true}, {2, next, true}};
  gpu_->ForwardAndSample(step, requests, tokens);

  EXPECT_EQ(tokens[0].token_id, Argmax(row));
  EXPECT_NEAR(tokens[0].logprob, logprob(tokens[0].token_id), 1e-3);
  ASSERT_EQ(tokens[0].top.size(), 3u);
  EXPECT_EQ(tokens[0].top[0].token_id, Argmax(row));
  for (const TokenLogprob& top : tokens[0].top) EXPECT_NEAR(top.logprob, logprob(top.token_id), 1e-3);
  EXPECT_NEAR(tokens[1].logprob, logprob(tokens[1].token_id), 1e-3);
  EXPECT_TRUE(tokens[1].top.empty());

  // The same seed and draw index from the same state draw the same token (slot 2 has
  // advanced, so its state before the step is rebuilt in slot 4).
  gpu_->ResetSlot(4);
  Run(*gpu_, {{4, prompt, false}});
  std::vector<SampledToken> again(1);
  const std::vector<SequenceBatchEntry> replay = {{4, next, true}};
  gpu_->ForwardAndSample(replay, std::span<const DeviceSamplingRequest>(requests).subspan(1, 1), again);
  EXPECT_EQ(again[0].token_id, tokens[1].token_id);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaModelRunnerTest,
    ::testing::Values(
        // dk 64, dv 128, untied head, MHA.
        RunnerShape{"dk64_dv128", {"--hidden-size", "256", "--num-layers", "2", "--num-heads", "2", "--vocab-size",
                                   "512", "--no-tie-word-embeddings", "--seed", "21"}},
        // dk 128, dv 256, grouped kv heads (4 query heads on 2 kv heads), tied head.
        RunnerShape{"dk128_dv256_gqa", {"--hidden-size", "1024", "--num-layers", "2", "--num-heads", "4",
                                        "--num-kv-heads", "2", "--vocab-size", "384", "--seed", "22"}},
        // dk 256, dv 512 (gla-1.3B's head shape), no output gate.
        RunnerShape{"dk256_dv512_nogate", {"--hidden-size", "1024", "--num-layers", "2", "--num-heads", "2",
                                           "--vocab-size", "300", "--no-output-gate", "--seed", "23"}}),
    [](const ::testing::TestParamInfo<RunnerShape>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace glaserve
