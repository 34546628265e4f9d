#include "kernels/cuda/sampling.h"

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <curand_philox4x32_x.h>

#include <cfloat>
#include <cstdint>

namespace glaserve::kernels::cuda {
namespace {

using u64 = unsigned long long;

constexpr int kThreads = 512;
constexpr int kDigitBits = 11;  // radix-select digit: 2048 bins, 6 passes at most over 64-bit keys
constexpr int kBins = 1 << kDigitBits;
constexpr int kBinsPerThread = kBins / kThreads;
// First select pass: bins 1/64 of a unit (a logit, or a nat of weight) wide below the best
// score, 32 units deep. Scores spread over many bins there, so the atomics rarely collide,
// and the boundary bin usually holds few candidates.
constexpr float kGridBinsPerUnit = 64.0f;
constexpr int kListCapacity = 1024;  // boundary-bin candidates resolved in shared memory
constexpr int kLoadsInFlight = 4;  // 16-byte loads each thread issues before using the first
// Below this, sampling is greedy in all but name (engine/sampler.cc, as vLLM).
constexpr float kGreedyTemperature = 1e-5f;
// Weights exp((s - max) / T) lie in [0, 1]. As integers in units of 2^-44 they add exactly,
// so in any order (deterministic under atomics), to at most 2^63 over kMaxSamplingVocab ids.
constexpr double kWeightUnit = 1.0 / 17592186044416.0;  // 2^-44

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

// The first select pass's bin of a score: 0 for the best score, growing downwards; scores
// that tie share a bin, and a better score never lands in a later bin.
__device__ inline int GridBin(float score, float max_score, float scale) {
  const float x = __fmul_rn(__fsub_rn(max_score, score), scale);
  return x < kBins - 1 ? static_cast<int>(x) : kBins - 1;  // also -inf and NaN
}

// ---------------------------------------------------------------------------------------
// Block-wide state.

struct RowStats {
  float raw_max;           // of the raw logits
  float raw_sum;           // sum of exp(raw - raw_max)
  u64 best_key;            // the best penalised candidate; 0 when there is none
  int32_t num_candidates;  // penalised scores above -inf
};

__device__ inline float Rescaled(const RowStats& s, float max) {
  return s.raw_max == max ? s.raw_sum : s.raw_sum * expf(s.raw_max - max);
}

struct CombineStats {
  __device__ RowStats operator()(const RowStats& a, const RowStats& b) const {
    RowStats c;
    c.raw_max = fmaxf(a.raw_max, b.raw_max);
    c.raw_sum = Rescaled(a, c.raw_max) + Rescaled(b, c.raw_max);
    c.best_key = a.best_key > b.best_key ? a.best_key : b.best_key;
    c.num_candidates = a.num_candidates + b.num_candidates;
    return c;
  }
};

struct SharedStorage {
  union {
    typename cub::BlockReduce<RowStats, kThreads>::TempStorage stats;
    typename cub::BlockScan<u64, kThreads>::TempStorage scan;
  } cub;
  union {
    struct {
      uint32_t count[kBins];  // select histogram: candidates per bin
      u64 weight[kBins];      // and their fixed-point weight (top-p)
    } hist;
    struct {
      u64 key[kListCapacity];  // the boundary bin's candidates
      u64 weight[kListCapacity];
    } list;
  };
  RowStats stats;
  int32_t bin;
  u64 bin_above;
  int32_t num_listed;
  u64 threshold;
  int32_t chosen;
  int32_t num_gathered;
  u64 top_keys[kMaxSamplingTopLogprobs];
};

// The weight of a count-only select's candidates: never asked for.
struct NoWeight {};

// The selects below are __noinline__: inlined at each call site they add register pressure
// (and spills) to the streaming passes of the kernel.

// What a select returns: the smallest key K such that the candidates with key >= K are
//   !kWeighted: the best `need` ones;
//   kWeighted: the shortest best-first prefix of the candidates of nonzero weight whose
//              weight reaches `need` (ceil(top_p * their total weight): the top-p nucleus).
// candidates(emit) calls emit(key, score, weight_of) for each of this thread's candidates,
// where weight_of() is its fixed-point weight (only called, and only needed, when kWeighted).
// Every thread gets the same result.

// The general select: a radix select over the distinct 64-bit keys, 11 bits a pass from the
// top, stopping when the boundary bin holds the boundary candidate alone or is kept whole.
// For a boundary that the grid (below) cannot isolate, e.g. thousands of tied scores.
template <bool kWeighted, class Candidates>
__device__ __noinline__ u64 RadixSelect(SharedStorage& sh, Candidates candidates, u64 need) {
  const int tid = threadIdx.x;
  u64 prefix = 0;  // the key bits decided so far
  u64 above = 0;   // count (or weight) of the candidates above the current prefix's range
  int known_bits = 0;
  while (known_bits < 64) {
    const int bits = min(kDigitBits, 64 - known_bits);
    const int shift = 64 - known_bits - bits;
    for (int b = tid; b < kBins; b += kThreads) {
      sh.hist.count[b] = 0;
      if (kWeighted) sh.hist.weight[b] = 0;
    }
    if (tid == 0) sh.bin = -1;
    __syncthreads();
    candidates([&](u64 key, float, auto weight_of) {
      if (known_bits > 0 && (key >> (64 - known_bits)) != prefix) return;
      const int digit = static_cast<int>((key >> shift) & ((1ull << bits) - 1));
      if constexpr (kWeighted) {
        const u64 w = weight_of();  // a discarded statement for NoWeight
        if (w == 0) return;  // never in the nucleus: the mass is reached before it
        atomicAdd(&sh.hist.weight[digit], w);
      }
      atomicAdd(&sh.hist.count[digit], 1u);
    });
    __syncthreads();

    // Bins best first: thread t owns bins kBins-1-4t down to kBins-4-4t.
    u64 mine[kBinsPerThread], mine_total = 0;
#pragma unroll
    for (int j = 0; j < kBinsPerThread; ++j) {
      const int b = kBins - 1 - (tid * kBinsPerThread + j);
      mine[j] = kWeighted ? sh.hist.weight[b] : sh.hist.count[b];
      mine_total += mine[j];
    }
    u64 before, level_total;
    cub::BlockScan<u64, kThreads>(sh.cub.scan).ExclusiveSum(mine_total, before, level_total);
    // The boundary bin: the one where the running count (or weight) first reaches `need`.
    u64 run = above + before;
#pragma unroll
    for (int j = 0; j < kBinsPerThread; ++j) {
      if (mine[j] > 0 && run < need && run + mine[j] >= need) {
        sh.bin = kBins - 1 - (tid * kBinsPerThread + j);
        sh.bin_above = run;
      }
      run += mine[j];
    }
    __syncthreads();
    const int bin = sh.bin;
    if (bin < 0) break;  // nothing to select
    const u64 bin_total = kWeighted ? sh.hist.weight[bin] : sh.hist.count[bin];
    const uint32_t bin_count = sh.hist.count[bin];
    above = sh.bin_above;
    prefix = (prefix << bits) | static_cast<u64>(bin);
    known_bits += bits;
    __syncthreads();  // all have read the histogram before the next pass clears it
    // Done when the boundary bin is kept whole, or holds the boundary candidate alone.
    if (above + bin_total == need || bin_count == 1) break;
  }
  if (known_bits == 0) return 0;
  return known_bits >= 64 ? prefix : prefix << (64 - known_bits);
}

// The usual select, in two passes. Pass 1: a histogram over score bins 1/64 unit wide
// below max_score (scale = 64 / unit) locates the boundary bin. Pass 2 lists that bin's
// candidates in shared memory and finds the boundary candidate among them by counting (or
// summing) the listed keys at or above each. Any better candidate lies in an earlier bin,
// so its key is larger: the boundary candidate's key is the threshold. A boundary bin too
// full to list goes to RadixSelect. kWeighted turns top_p into `need`.
template <bool kWeighted, class Candidates>
__device__ __noinline__ u64 SelectThreshold(SharedStorage& sh, Candidates candidates, float max_score, float scale,
                                             u64 need, double top_p) {
  const int tid = threadIdx.x;
  for (int b = tid; b < kBins; b += kThreads) {
    sh.hist.count[b] = 0;
    if (kWeighted) sh.hist.weight[b] = 0;
  }
  if (tid == 0) {
    sh.bin = -1;
    sh.num_listed = 0;
    sh.threshold = 0;
  }
  __syncthreads();
  candidates([&](u64, float score, auto weight_of) {
    const int bin = GridBin(score, max_score, scale);
    if constexpr (kWeighted) {
      const u64 w = weight_of();  // a discarded statement for NoWeight
      if (w == 0) return;  // never in the nucleus: the mass is reached before it
      atomicAdd(&sh.hist.weight[bin], w);
    }
    atomicAdd(&sh.hist.count[bin], 1u);
  });
  __syncthreads();

  // Bins best first: thread t owns bins 4t to 4t+3.
  u64 mine[kBinsPerThread], mine_total = 0;
#pragma unroll
  for (int j = 0; j < kBinsPerThread; ++j) {
    const int b = tid * kBinsPerThread + j;
    mine[j] = kWeighted ? sh.hist.weight[b] : sh.hist.count[b];
    mine_total += mine[j];
  }
  u64 before, total;
  cub::BlockScan<u64, kThreads>(sh.cub.scan).ExclusiveSum(mine_total, before, total);
  if (kWeighted) {
    const u64 target = static_cast<u64>(ceil(top_p * static_cast<double>(total)));
    need = min(max(target, 1ull), total);
  }
  u64 run = before;
#pragma unroll
  for (int j = 0; j < kBinsPerThread; ++j) {
    if (mine[j] > 0 && run < need && run + mine[j] >= need) {
      sh.bin = tid * kBinsPerThread + j;
      sh.bin_above = run;
    }
    run += mine[j];
  }
  __syncthreads();
  const int bin = sh.bin;
  const u64 above = sh.bin_above;
  const uint32_t bin_count = bin >= 0 ? sh.hist.count[bin] : 0;
  __syncthreads();  // all have read the histogram before the list overwrites it
  if (bin < 0) return 0;  // nothing to select
  if (bin_count > kListCapacity) return RadixSelect<kWeighted>(sh, candidates, need);

  candidates([&](u64 key, float score, auto weight_of) {
    if (GridBin(score, max_score, scale) != bin) return;
    u64 w = 1;
    if constexpr (kWeighted) {
      w = weight_of();
      if (w == 0) return;
    }
    const int slot = atomicAdd(&sh.num_listed, 1);
    if (slot < kListCapacity) {
      sh.list.key[slot] = key;
      sh.list.weight[slot] = w;
    }
  });
  __syncthreads();
  const int listed = min(sh.num_listed, kListCapacity);
  for (int i = tid; i < listed; i += kThreads) {
    const u64 key = sh.list.key[i];
    u64 through = 0;  // count (or weight) of the listed candidates at or above this one
    for (int j = 0; j < listed; ++j) through += sh.list.key[j] >= key ? sh.list.weight[j] : 0;
    if (above + through >= need && above + through - sh.list.weight[i] < need) sh.threshold = key;
  }
  __syncthreads();
  const u64 threshold = sh.threshold;
  __syncthreads();  // all have read it before the next select resets it
  return threshold;
}

// Uniform in [0, 1) from 53 bits of Philox4x32-10 with key = seed and counter = offset.
__device__ inline double Uniform(uint64_t seed, uint64_t offset) {
  const uint4 counter = make_uint4(static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32), 0, 0);
  const uint2 key = make_uint2(static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  const uint4 bits = curand_Philox4x32_10(counter, key);
  return ((bits.x >> 5) * 67108864.0 + (bits.y >> 6)) * (1.0 / 9007199254740992.0);
}

// The num_top_logprobs best raw logits, best first, as log-softmax values.
__device__ __noinline__ void WriteTopLogprobs(SharedStorage& sh, const RowView& row, const SamplingArgs& args,
                                              int64_t r, float max_logit, float log_normalizer) {
  const int tid = threadIdx.x;
  const int n = min(args.num_top_logprobs, row.vocab_size);
  const u64 threshold = SelectThreshold<false>(
      sh,
      [&](auto emit) {
        ForEachRaw(row.logits, row.vocab_size, tid, kThreads, [&](int32_t id, float logit) {
          emit(Key(logit, id), logit, NoWeight{});
          return false;
        });
      },
      max_logit, kGridBinsPerUnit, n, 0.0);
  if (tid == 0) sh.num_gathered = 0;
  __syncthreads();
  ForEachRaw(row.logits, row.vocab_size, tid, kThreads, [&](int32_t id, float logit) {
    const u64 key = Key(logit, id);
    if (key >= threshold) {
      const int slot = atomicAdd(&sh.num_gathered, 1);
      if (slot < kMaxSamplingTopLogprobs) sh.top_keys[slot] = key;
    }
    return false;
  });
  __syncthreads();
  const int gathered = min(sh.num_gathered, n);
  int32_t* top_ids = args.top_token_ids + r * args.num_top_logprobs;
  float* top_logprobs = args.top_logprobs + r * args.num_top_logprobs;
  if (tid < gathered) {
    // Keys are distinct: a key's rank is the number of larger ones.
    const u64 key = sh.top_keys[tid];
    int rank = 0;
    for (int j = 0; j < gathered; ++j) rank += sh.top_keys[j] > key;
    top_ids[rank] = KeyId(key);
    top_logprobs[rank] = KeyScore(key) - log_normalizer;
  } else if (tid < args.num_top_logprobs) {
    top_ids[tid] = -1;
    top_logprobs[tid] = -INFINITY;
  }
}

// Grid: one block per row. Dynamic shared memory: two bitmaps of ceil(vocab / 32) words.
__global__ void __launch_bounds__(kThreads, 2) SamplingKernel(const SamplingArgs args) {
  __shared__ SharedStorage sh;
  extern __shared__ uint32_t bitmaps[];
  const int tid = threadIdx.x;
  const int64_t r = blockIdx.x;
  const SamplingRow params = args.rows[r];
  const int32_t vocab = args.vocab_size;

  RowView row;
  row.logits = args.logits + r * args.logits_stride;
  row.vocab_size = vocab;
  row.skip_bits = nullptr;
  row.banned_bits = nullptr;
  row.penalty_ids = args.penalty_token_ids;
  row.penalty_counts = args.penalty_output_counts;
  row.penalty_begin = params.penalty_begin;
  row.penalty_end = params.penalty_end;
  row.repetition = params.repetition_penalty;
  row.presence = params.presence_penalty;
  row.frequency = params.frequency_penalty;

  // Step 1's bans and steps 2-3's ids, as bitmaps (skipped entirely by plain rows).
  if (params.banned_end > params.banned_begin || params.penalty_end > params.penalty_begin) {
    const int32_t words = (vocab + 31) / 32;
    uint32_t* skip = bitmaps;
    uint32_t* banned = bitmaps + words;
    for (int32_t i = tid; i < 2 * words; i += kThreads) bitmaps[i] = 0;
    __syncthreads();
    for (int32_t k = params.banned_begin + tid; k < params.banned_end; k += kThreads) {
      const int32_t id = args.banned_token_ids[k];
      if (id < 0 || id >= vocab) continue;
      atomicOr(&banned[id >> 5], 1u << (id & 31));
      atomicOr(&skip[id >> 5], 1u << (id & 31));
    }
    for (int32_t k = params.penalty_begin + tid; k < params.penalty_end; k += kThreads) {
      const int32_t id = args.penalty_token_ids[k];
      if (id >= 0 && id < vocab) atomicOr(&skip[id >> 5], 1u << (id & 31));
    }
    __syncthreads();
    row.skip_bits = skip;
    row.banned_bits = banned;
  }

  // Pass 1: the raw log-softmax normaliser (online max and sum), and the best penalised
  // candidate, which is the greedy answer and the max that weights are relative to.
  // The running max starts at the lowest finite float, so exp(x - max) is never NaN; the
  // dense pass visits this thread's ids in increasing order, so the first maximum it keeps
  // is the lowest id among ties. __expf (2 ulp near 0) is plenty for a logprob.
  RowStats mine{-FLT_MAX, 0.0f, 0ull, 0};
  float best_score = -INFINITY;
  int32_t best_id = -1;
  ForEachRaw(row.logits, vocab, tid, kThreads, [&](int32_t id, float logit) {
    if (logit > mine.raw_max) {
      mine.raw_sum = mine.raw_sum * __expf(mine.raw_max - logit) + 1.0f;
      mine.raw_max = logit;
    } else {
      mine.raw_sum += __expf(logit - mine.raw_max);
    }
    if (row.skip_bits != nullptr && TestBit(row.skip_bits, id)) return false;
    mine.num_candidates += logit > -INFINITY;
    if (logit > best_score) {
      best_score = logit;
      best_id = id;
    }
    return false;
  });
  if (best_id >= 0) mine.best_key = Key(best_score, best_id);
  ForEachPenalized(row, tid, kThreads, [&](int32_t id, float score) {
    if (score > -INFINITY) {
      ++mine.num_candidates;
      const u64 key = Key(score, id);
      if (key > mine.best_key) mine.best_key = key;
    }
    return false;
  });
  const RowStats block_stats = cub::BlockReduce<RowStats, kThreads>(sh.cub.stats).Reduce(mine, CombineStats());
  if (tid == 0) sh.stats = block_stats;
  __syncthreads();
  const RowStats stats = sh.stats;
  const float log_normalizer = stats.raw_max + logf(stats.raw_sum);

  if (args.num_top_logprobs > 0) WriteTopLogprobs(sh, row, args, r, stats.raw_max, log_normalizer);

  const bool greedy = params.temperature < kGreedyTemperature;
  int32_t chosen = stats.num_candidates > 0 ? KeyId(stats.best_key) : -1;
  float* probabilities = args.probabilities != nullptr ? args.probabilities + r * vocab : nullptr;
  if (greedy || chosen < 0) {
    if (probabilities != nullptr) {
      for (int32_t i = tid; i < vocab; i += kThreads) probabilities[i] = i == chosen ? 1.0f : 0.0f;
    }
  } else {
    Filter filter;
    filter.max_score = KeyScore(stats.best_key);
    filter.temperature = params.temperature;
    filter.min_p = params.min_p;

    // Step 6, top-k: the k-th best key.
    if (params.top_k > 0 && params.top_k < stats.num_candidates) {
      filter.top_k_key = SelectThreshold<false>(
          sh,
          [&](auto emit) {
            ForEachScore(row, tid, kThreads, [&](int32_t id, float score) {
              if (score > -INFINITY) emit(Key(score, id), score, NoWeight{});
              return false;
            });
          },
          filter.max_score, kGridBinsPerUnit, static_cast<u64>(params.top_k), 0.0);
    }

    // Step 7, top-p: the key that closes the nucleus of what top-k kept.
    if (params.top_p < 1.0f) {
      filter.top_p_key = SelectThreshold<true>(
          sh,
          [&](auto emit) {
            ForEachScore(row, tid, kThreads, [&](int32_t id, float score) {
              if (!(score > -INFINITY)) return false;
              const u64 key = Key(score, id);
              if (key >= filter.top_k_key) emit(key, score, [&] { return FixedWeight(Weight(filter, score)); });
              return false;
            });
          },
          filter.max_score, kGridBinsPerUnit / params.temperature, 0, params.top_p);
      filter.use_top_p = true;
    }

    // Step 9, the draw (step 8, min-p, is in Keep): each thread's kept weight, in its own
    // visiting order; a block scan lays the threads' intervals end to end; the thread whose
    // interval holds the draw walks its candidates again to find the token.
    u64 my_fixed = 0;
    ForEachScore(row, tid, kThreads, [&](int32_t id, float score) {
      float weight;
      u64 fixed;
      if (Keep(filter, id, score, &weight, &fixed)) my_fixed += fixed;
      return false;
    });
    u64 before, total_fixed;
    cub::BlockScan<u64, kThreads>(sh.cub.scan).ExclusiveSum(my_fixed, before, total_fixed);
    if (tid == 0) sh.chosen = chosen;  // the best candidate, should no interval hold the draw
    __syncthreads();
    if (total_fixed > 0) {
      const double draw = Uniform(params.seed, params.offset) * static_cast<double>(total_fixed);
      const u64 target = min(static_cast<u64>(draw), total_fixed - 1);
      if (my_fixed > 0 && before <= target && target - before < my_fixed) {
        u64 cumulative = before;
        ForEachScore(row, tid, kThreads, [&](int32_t id, float score) {
          float weight;
          u64 fixed;
          if (!Keep(filter, id, score, &weight, &fixed)) return false;
          cumulative += fixed;
          if (cumulative <= target) return false;
          sh.chosen = id;
          return true;
        });
      }
    }
    __syncthreads();
    chosen = sh.chosen;

    if (probabilities != nullptr) {
      // Renormalised over what was kept, as Sampler::Probabilities. Skipped ids get 0 here
      // and their real value from the sparse pass after the barrier.
      // The fixed-point total misses under 2^-44 per id: a relative 1e-7 at 2^19 ids.
      const double total = static_cast<double>(total_fixed) * kWeightUnit;
      auto probability = [&](int32_t id, float score) {
        float weight;
        u64 fixed;
        return Keep(filter, id, score, &weight, &fixed) ? static_cast<float>(weight / total) : 0.0f;
      };
      ForEachRaw(row.logits, vocab, tid, kThreads, [&](int32_t id, float logit) {
        const bool skipped = row.skip_bits != nullptr && TestBit(row.skip_bits, id);
        probabilities[id] = skipped ? 0.0f : probability(id, logit);
        return false;
      });
      __syncthreads();
      ForEachPenalized(row, tid, kThreads, [&](int32_t id, float score) {
        probabilities[id] = probability(id, score);
        return false;
      });
    }
  }

  if (tid == 0) {
    args.token_ids[r] = chosen;
    if (args.logprobs != nullptr) args.logprobs[r] = chosen >= 0 ? row.logits[chosen] - log_normalizer : -INFINITY;
  }
}

}  // namespace

size_t SamplingWorkspaceBytes(int32_t /*num_rows*/, int32_t /*vocab_size*/) { return 0; }

cudaError_t LaunchSampling(const SamplingArgs& args, cudaStream_t stream) {
  if (args.num_rows <= 0) return cudaSuccess;
  if (args.vocab_size <= 0 || args.vocab_size > kMaxSamplingVocab || args.logits == nullptr ||
      args.logits_stride < args.vocab_size || args.rows == nullptr || args.token_ids == nullptr ||
      args.num_top_logprobs < 0 || args.num_top_logprobs > kMaxSamplingTopLogprobs ||
      (args.num_top_logprobs > 0 && (args.top_token_ids == nullptr || args.top_logprobs == nullptr))) {
    return cudaErrorInvalidValue;
  }
  const size_t bitmap_bytes = 2 * static_cast<size_t>((args.vocab_size + 31) / 32) * sizeof(uint32_t);
  // Vocabularies past ~90K ids need more than the default 48 KB of shared memory per block.
  if (bitmap_bytes + sizeof(SharedStorage) > 48 * 1024) {
    const cudaError_t error = cudaFuncSetAttribute(SamplingKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                   static_cast<int>(bitmap_bytes));
    if (error != cudaSuccess) return error;
  }
  SamplingKernel<<<args.num_rows, kThreads, bitmap_bytes, stream>>>(args);
  return cudaGetLastError();
}

}  // namespace glaserve::kernels::cuda
