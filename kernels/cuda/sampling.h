// Token sampling on the GPU: one row of logits per sequence in, one token per sequence
// out, following exactly the order of operations of the CPU sampler (engine/sampler.h):
// banned ids, repetition penalty, presence/frequency penalties, greedy below temperature
// 1e-5 (ties to the lowest id), temperature, top-k (ties to the lowest id), top-p, min-p,
// draw. Reported logprobs are the log-softmax of the raw logits, as on the CPU.
//
// One block per row, no sort. Every candidate has a 64-bit key, its order-preserving score
// bits above its inverted id, so "best first, ties to the lowest id" is "largest key
// first" and keys are distinct. Top-k keeps the keys down to the k-th best; top-p down to
// the last candidate of the shortest best-first prefix that reaches top_p of the mass. Each
// threshold takes two passes over the row: a shared-memory histogram of counts (top-k) or
// of fixed-point weights (top-p) over score bins 1/64 logit (nat) wide below the max finds
// the boundary bin, whose few candidates are then listed in shared memory and ranked
// exactly. A boundary bin too full to list (thousands of tied scores) falls back to a
// radix select over the keys. Penalised and banned ids are marked in shared-memory
// bitmaps, skipped in the dense passes and visited from the sparse id lists instead, so the
// raw logits are never copied. The draw is exact in integers: each thread sums its kept
// candidates' fixed-point weights, a block scan finds the thread whose interval holds the
// Philox draw, and that thread walks its candidates again. Greedy rows take one pass
// (argmax and the log-softmax normaliser).
#ifndef GLASERVE_KERNELS_CUDA_SAMPLING_H_
#define GLASERVE_KERNELS_CUDA_SAMPLING_H_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace glaserve::kernels::cuda {

inline constexpr int32_t kMaxSamplingTopLogprobs = 20;
inline constexpr int32_t kMaxSamplingVocab = 1 << 19;

// One sequence's knobs (engine/sampling_params.h) and where its id lists lie.
struct SamplingRow {
  float temperature = 1;  // < 1e-5: greedy
  int32_t top_k = 0;      // 0 = off
  float top_p = 1;        // 1 = off
  float min_p = 0;        // 0 = off
  float repetition_penalty = 1;
  float presence_penalty = 0;
  float frequency_penalty = 0;
  // Counter-based RNG (Philox4x32-10): the draw is a function of (seed, offset) alone.
  uint64_t seed = 0;
  uint64_t offset = 0;
  int32_t penalty_begin = 0, penalty_end = 0;  // range into penalty_token_ids / penalty_output_counts
  int32_t banned_begin = 0, banned_end = 0;    // range into banned_token_ids
};

struct SamplingArgs {
  int32_t num_rows = 0;
  int32_t vocab_size = 0;  // <= kMaxSamplingVocab
  const float* logits = nullptr;  // [num_rows, vocab] fp32
  int64_t logits_stride = 0;      // floats between rows
  const SamplingRow* rows = nullptr;  // device [num_rows]
  // Every DISTINCT token seen in the prompt or the output (each at most once per row), and
  // its count among output tokens (0 if only in the prompt). Ids outside the vocab are ignored.
  const int32_t* penalty_token_ids = nullptr;
  const int32_t* penalty_output_counts = nullptr;
  const int32_t* banned_token_ids = nullptr;  // duplicates allowed
  int32_t num_top_logprobs = 0;  // <= kMaxSamplingTopLogprobs, same for every row
  // Outputs. A row whose every id is banned gets token -1 and logprob -inf.
  int32_t* token_ids = nullptr;  // [num_rows]
  float* logprobs = nullptr;     // [num_rows]: raw logprob of the chosen id
  // [num_rows, num_top_logprobs], best first (ties to the lowest id); entries past the
  // vocab size get id -1 and -inf.
  int32_t* top_token_ids = nullptr;
  float* top_logprobs = nullptr;
  float* probabilities = nullptr;  // optional [num_rows, vocab]: the distribution drawn from (tests)
  void* workspace = nullptr;       // SamplingWorkspaceBytes bytes (none needed today)
  size_t workspace_bytes = 0;
};

// Device memory LaunchSampling needs in args.workspace. Today 0: all scratch is shared memory.
size_t SamplingWorkspaceBytes(int32_t num_rows, int32_t vocab_size);

// Checks the shape and launches on `stream`; returns the launch error, if any.
cudaError_t LaunchSampling(const SamplingArgs& args, cudaStream_t stream);

}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_SAMPLING_H_
