// Chunkwise GLA (DESIGN.md section 3). For a chunk of c <= 64 tokens entering with state
// S0 and b_t = a_1 + ... + a_t (per key channel, <= 0 and decreasing):
//
//   o_t  = (q_t * exp(b_t)) S0                                  (from the past)
//        + sum_{s<=t} (q_t . (k_s * exp(b_t - b_s))) v_s         (inside the chunk)
//   S    = diag(exp(b_c)) S0 + sum_s (k_s * exp(b_c - b_s))^T v_s
//
// The intra-chunk scores A[t, s] are built per 16-token sub-chunk I: against all earlier
// tokens s (before I) through the reference point r = start(I) - 1, as
// (q_t * exp(b_t - b_r)) . (k_s * exp(b_r - b_s)) (both exponents <= 0, one matmul);
// inside I's own 16x16 block, exp(b_t - b_s) is taken directly for each pair.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/gla_attention.h"
#include "kernels/cpu/matmul.h"

namespace glaserve::kernels {
namespace {

// Scratch for one chunk, allocated once per call.
struct ChunkScratch {
  explicit ChunkScratch(int64_t dk)
      : b(kGlaChunkSize * dk),
        q_decayed(kGlaChunkSize * dk),
        k_decayed(kGlaChunkSize * dk),
        scores(kGlaChunkSize * kGlaChunkSize),
        chunk_decay(dk) {}
  std::vector<float> b;          // [c, dk] cumulative log gates
  std::vector<float> q_decayed;  // [c, dk]
  std::vector<float> k_decayed;  // [c, dk]
  std::vector<float> scores;     // [c, c] lower triangular A
  std::vector<float> chunk_decay;  // [dk] exp(b_c)
};

// Intra-chunk scores for one query head: A[t, s] for s <= t < c.
void ChunkScores(const GlaHeadArgs& args, const float* q, const float* k, int64_t c,
                 ChunkScratch& scratch) {
  const int64_t dk = args.head_k_dim;
  const float* b = scratch.b.data();
  float* scores = scratch.scores.data();
  std::fill(scores, scores + c * kGlaChunkSize, 0.0f);
  for (int64_t start = 0; start < c; start += kGlaSubChunkSize) {
    const int64_t end = std::min(start + kGlaSubChunkSize, c);
    // Diagonal block: the exact exponent of each (t, s) difference.
    for (int64_t t = start; t < end; ++t) {
      const float* qt = q + t * args.q_stride;
      for (int64_t s = start; s <= t; ++s) {
        const float* ks = k + s * args.k_stride;
        float dot = 0;
        for (int64_t i = 0; i < dk; ++i) dot += qt[i] * ks[i] * std::exp(b[t * dk + i] - b[s * dk + i]);
        scores[t * kGlaChunkSize + s] = dot;
      }
    }
    if (start == 0) continue;
    // Earlier tokens through the reference point r = start - 1.
    const float* b_ref = b + (start - 1) * dk;
    for (int64_t t = start; t < end; ++t) {
      for (int64_t i = 0; i < dk; ++i) {
        scratch.q_decayed[t * dk + i] = q[t * args.q_stride + i] * std::exp(b[t * dk + i] - b_ref[i]);
      }
    }
    for (int64_t s = 0; s < start; ++s) {
      for (int64_t i = 0; i < dk; ++i) {
        scratch.k_decayed[s * dk + i] = k[s * args.k_stride + i] * std::exp(b_ref[i] - b[s * dk + i]);
      }
    }
    Gemm(false, true, end - start, start, dk, 1.0f, scratch.q_decayed.data() + start * dk, dk,
         scratch.k_decayed.data(), dk, 0.0f, scores + start * kGlaChunkSize, kGlaChunkSize);
  }
}

}  // namespace

void GlaChunkwise(const GlaHeadArgs& args) {
  const int64_t dk = args.head_k_dim, dv = args.head_v_dim;
  ChunkScratch scratch(dk);
  float* state = args.state;
  for (int64_t chunk_start = 0; chunk_start < args.num_tokens; chunk_start += kGlaChunkSize) {
    const int64_t c = std::min(kGlaChunkSize, args.num_tokens - chunk_start);
    const float* k = args.k + chunk_start * args.k_stride;
    const float* v = args.v + chunk_start * args.v_stride;
    const float* a = args.log_gate + chunk_start * args.log_gate_stride;
    float* b = scratch.b.data();
    for (int64_t i = 0; i < dk; ++i) b[i] = a[i];
    for (int64_t t = 1; t < c; ++t) {
      for (int64_t i = 0; i < dk; ++i) b[t * dk + i] = b[(t - 1) * dk + i] + a[t * args.log_gate_stride + i];
    }

    for (int64_t g = 0; g < args.num_q_heads; ++g) {
      const float* q = args.q + chunk_start * args.q_stride + g * args.q_head_stride;
      float* out = args.out + chunk_start * args.out_stride + g * args.out_head_stride;
      // From the past: o = (q * exp(b)) S0^T, S0 being [dv, dk].
      for (int64_t t = 0; t < c; ++t) {
        for (int64_t i = 0; i < dk; ++i) {
          scratch.q_decayed[t * dk + i] = q[t * args.q_stride + i] * std::exp(b[t * dk + i]);
        }
      }
      Gemm(false, true, c, dv, dk, 1.0f, scratch.q_decayed.data(), dk, state, dk, 0.0f, out,
           args.out_stride);
      // Inside the chunk: o += A v.
      ChunkScores(args, q, k, c, scratch);
      Gemm(false, false, c, dv, c, 1.0f, scratch.scores.data(), kGlaChunkSize, v, args.v_stride,
           1.0f, out, args.out_stride);
    }

    // State leaving the chunk: S = diag(exp(b_c)) S0 + v^T (k * exp(b_c - b)).
    const float* b_last = b + (c - 1) * dk;
    for (int64_t s = 0; s < c; ++s) {
      for (int64_t i = 0; i < dk; ++i) {
        scratch.k_decayed[s * dk + i] = k[s * args.k_stride + i] * std::exp(b_last[i] - b[s * dk + i]);
      }
    }
    for (int64_t i = 0; i < dk; ++i) scratch.chunk_decay[i] = std::exp(b_last[i]);
    for (int64_t j = 0; j < dv; ++j) {
      for (int64_t i = 0; i < dk; ++i) state[j * dk + i] *= scratch.chunk_decay[i];
    }
    Gemm(true, false, dv, dk, c, 1.0f, v, args.v_stride, scratch.k_decayed.data(), dk, 1.0f, state,
         dk);
  }
}

}  // namespace glaserve::kernels
