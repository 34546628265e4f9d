// The candidates of one row of the GPU sampler (sampling.cu): their keys, their scores after
// bans and penalties (steps 1-3 of engine/sampler.h), streamed without materialising them,
// and the filter that keeps or drops each one (steps 5-8). Included by sampling.cu alone, so
// its unnamed namespace is that file's (sampling_select.cuh says why there is one).
#ifndef GLASERVE_KERNELS_CUDA_SAMPLING_CANDIDATES_CUH_
#define GLASERVE_KERNELS_CUDA_SAMPLING_CANDIDATES_CUH_

#include <cstdint>

namespace glaserve::kernels::cuda {
namespace {

using u64 = unsigned long long;

constexpr int kLoadsInFlight = 4;  // 16-byte loads each thread issues before using the first

// ---------------------------------------------------------------------------------------
// Keys: order-preserving score bits above the inverted id. Larger key = better candidate,
// ties in score to the lower id, as engine/sampler.cc's BestFirst.

__device__ inline uint32_t OrderedBits(float x) {
  const uint32_t bits = __float_as_uint(__fadd_rn(x, 0.0f));  // -0 -> +0: they tie on the CPU
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ inline float FromOrderedBits(uint32_t ordered) {
  return __uint_as_float((ordered & 0x80000000u) ? (ordered & 0x7fffffffu) : ~ordered);
}

__device__ inline u64 Key(float score, int32_t id) {
  return (static_cast<u64>(OrderedBits(score)) << 32) | static_cast<uint32_t>(~id);
}

__device__ inline int32_t KeyId(u64 key) { return static_cast<int32_t>(~static_cast<uint32_t>(key)); }

__device__ inline float KeyScore(u64 key) { return FromOrderedBits(static_cast<uint32_t>(key >> 32)); }

// ---------------------------------------------------------------------------------------
// One row's scores (steps 1-3 of engine/sampler.h) without materialising them: ids that are
// banned or penalised are marked in shared-memory bitmaps; the dense pass skips them and the
// sparse pass over the penalty list visits the penalised ones that are not banned.

struct RowView {
  const float* logits;
  int32_t vocab_size;
  const uint32_t* skip_bits;    // banned or penalised; nullptr when the row has neither
  const uint32_t* banned_bits;
  const int32_t* penalty_ids;
  const int32_t* penalty_counts;
  int32_t penalty_begin, penalty_end;
  float repetition, presence, frequency;
};

__device__ inline bool TestBit(const uint32_t* bits, int32_t id) { return (bits[id >> 5] >> (id & 31)) & 1u; }

// Explicit roundings: nvcc would otherwise fuse the multiply-add, and the CPU does not.
__device__ inline float PenalizedScore(const RowView& row, float logit, int32_t output_count) {
  float score = logit > 0 ? __fdiv_rn(logit, row.repetition) : __fmul_rn(logit, row.repetition);
  if (output_count > 0) {
    score = __fsub_rn(score, __fadd_rn(row.presence, __fmul_rn(row.frequency, static_cast<float>(output_count))));
  }
  return score;
}

// Calls f(id, logit) for this thread's share of row[0, n), in a fixed order; f returns true
// to stop early (and then so does this). 16-byte loads from the first aligned element.
template <class F>
__device__ inline bool ForEachRaw(const float* row, int32_t n, int tid, int num_threads, F&& f) {
  const int32_t head = min(n, static_cast<int32_t>(((16 - (reinterpret_cast<uintptr_t>(row) & 15)) & 15) / 4));
  for (int32_t i = tid; i < head; i += num_threads) {
    if (f(i, row[i])) return true;
  }
  const float4* vec = reinterpret_cast<const float4*>(row + head);
  const int32_t num_vec = (n - head) / 4;
  int32_t v = tid;
  for (; v + (kLoadsInFlight - 1) * num_threads < num_vec; v += kLoadsInFlight * num_threads) {
    float4 x[kLoadsInFlight];
#pragma unroll
    for (int b = 0; b < kLoadsInFlight; ++b) x[b] = __ldg(vec + v + b * num_threads);
#pragma unroll
    for (int b = 0; b < kLoadsInFlight; ++b) {
      const int32_t i = head + 4 * (v + b * num_threads);
      if (f(i, x[b].x) || f(i + 1, x[b].y) || f(i + 2, x[b].z) || f(i + 3, x[b].w)) return true;
    }
  }
  for (; v < num_vec; v += num_threads) {
    const float4 x = __ldg(vec + v);
    const int32_t i = head + 4 * v;
    if (f(i, x.x) || f(i + 1, x.y) || f(i + 2, x.z) || f(i + 3, x.w)) return true;
  }
  for (int32_t i = head + 4 * num_vec + tid; i < n; i += num_threads) {
    if (f(i, row[i])) return true;
  }
  return false;
}

// Calls f(id, score) for this thread's share of the penalised ids that are not banned.
template <class F>
__device__ inline bool ForEachPenalized(const RowView& row, int tid, int num_threads, F&& f) {
  if (row.skip_bits == nullptr) return false;
  for (int32_t k = row.penalty_begin + tid; k < row.penalty_end; k += num_threads) {
    const int32_t id = row.penalty_ids[k];
    if (id < 0 || id >= row.vocab_size || TestBit(row.banned_bits, id)) continue;
    if (f(id, PenalizedScore(row, row.logits[id], row.penalty_counts[k]))) return true;
  }
  return false;
}

// Calls f(id, score) for this thread's share of every id whose score is not -inf by a ban.
template <class F>
__device__ inline bool ForEachScore(const RowView& row, int tid, int num_threads, F&& f) {
  const bool stopped = ForEachRaw(row.logits, row.vocab_size, tid, num_threads, [&](int32_t id, float logit) {
    if (row.skip_bits != nullptr && TestBit(row.skip_bits, id)) return false;
    return f(id, logit);
  });
  return stopped || ForEachPenalized(row, tid, num_threads, f);
}

// ---------------------------------------------------------------------------------------
// Steps 5-8 as a predicate on one id: its weight, and whether top-k, top-p and min-p keep it.

struct Filter {
  float max_score = 0;    // the best penalised score: its weight is exp(0) = 1
  float temperature = 1;
  float min_p = 0;
  u64 top_k_key = 0;      // keep keys >= this
  u64 top_p_key = 0;      // with use_top_p: keep keys >= this of nonzero fixed weight
  bool use_top_p = false;
};

// The CPU's expression, rounding step by step: exp((score - max) / temperature).
__device__ inline float Weight(const Filter& filter, float score) {
  return expf(__fdiv_rn(__fsub_rn(score, filter.max_score), filter.temperature));
}

// floor(weight * 2^44) from the float's bits, without a trip through fp64.
__device__ inline u64 FixedWeight(float weight) {
  const uint32_t bits = __float_as_uint(weight);
  const int exponent = static_cast<int>(bits >> 23);  // weight >= 0: no sign bit
  if (exponent == 0) return 0;                         // zero or below 2^-126
  const u64 mantissa = (bits & 0x7fffffu) | 0x800000u;
  const int shift = exponent - 127 - 23 + 44;          // weight = mantissa * 2^(exponent - 150)
  return shift >= 0 ? mantissa << shift : (shift > -24 ? mantissa >> -shift : 0);
}

__device__ inline bool Keep(const Filter& filter, int32_t id, float score, float* weight, u64* fixed) {
  if (!(score > -INFINITY)) return false;  // banned (or NaN)
  const u64 key = filter.top_k_key != 0 || filter.use_top_p ? Key(score, id) : 0;
  if (key < filter.top_k_key) return false;
  *weight = Weight(filter, score);
  *fixed = FixedWeight(*weight);
  if (filter.use_top_p && (key < filter.top_p_key || *fixed == 0)) return false;
  return !(*weight < filter.min_p);
}

}  // namespace
}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_SAMPLING_CANDIDATES_CUH_
