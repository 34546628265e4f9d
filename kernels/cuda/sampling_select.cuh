// The block-wide selects of the GPU sampler (sampling.cu): the threshold key of top-k, top-p
// and the top logprobs, by a histogram over score bins then a ranked list of the boundary
// bin, or a radix select over the keys; and the block's shared storage they work in.
// Included by sampling.cu alone, so its unnamed namespace is that file's: it keeps the symbols
// of the __noinline__ selects what they were when all was one file. Under other names (in a
// named namespace) ptxas allocated their registers differently (CUDA 13.0).
#ifndef GLASERVE_KERNELS_CUDA_SAMPLING_SELECT_CUH_
#define GLASERVE_KERNELS_CUDA_SAMPLING_SELECT_CUH_

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include <cstdint>

#include "kernels/cuda/sampling.h"
#include "kernels/cuda/sampling_candidates.cuh"

namespace glaserve::kernels::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kDigitBits = 11;  // radix-select digit: 2048 bins, 6 passes at most over 64-bit keys
constexpr int kBins = 1 << kDigitBits;
constexpr int kBinsPerThread = kBins / kThreads;
// First select pass: bins 1/64 of a unit (a logit, or a nat of weight) wide below the best
// score, 32 units deep. Scores spread over many bins there, so the atomics rarely collide,
// and the boundary bin usually holds few candidates.
constexpr float kGridBinsPerUnit = 64.0f;
constexpr int kListCapacity = 1024;  // boundary-bin candidates resolved in shared memory

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

}  // namespace
}  // namespace glaserve::kernels::cuda

#endif  // GLASERVE_KERNELS_CUDA_SAMPLING_SELECT_CUH_
