// The GPU sampler's kernel and launcher (the algorithm is described in sampling.h): one block
// per row runs the steps of engine/sampler.h in order over the row's candidates
// (sampling_candidates.cuh), finding the top-k and top-p thresholds with the block-wide
// selects (sampling_select.cuh), then draws.
#include "kernels/cuda/sampling.h"

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <curand_philox4x32_x.h>

#include <cfloat>
#include <cstdint>

#include "kernels/cuda/sampling_candidates.cuh"
#include "kernels/cuda/sampling_select.cuh"

namespace glaserve::kernels::cuda {
namespace {

// Below this, sampling is greedy in all but name (engine/sampler.cc, as vLLM).
constexpr float kGreedyTemperature = 1e-5f;
// Weights exp((s - max) / T) lie in [0, 1]. As integers in units of 2^-44 they add exactly,
// so in any order (deterministic under atomics), to at most 2^63 over kMaxSamplingVocab ids.
constexpr double kWeightUnit = 1.0 / 17592186044416.0;  // 2^-44

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
