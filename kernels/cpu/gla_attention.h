// Gated linear attention for one kv head of one sequence on the CPU, in two forms that
// compute the same thing (DESIGN.md sections 3 and 4):
//
//   S = diag(exp(a_t)) S + k_t^T v_t      (state per kv head, stored v-first: [dv, dk])
//   o_t = q_t S                           (for each query head of the kv group)
//
// GlaRecurrent runs it token by token (decode); GlaChunkwise runs it over chunks of 64
// tokens with 16-token sub-chunks (prefill), turning the work into small matmuls while
// keeping every exponent it takes <= 0.
#ifndef GLASERVE_KERNELS_CPU_GLA_ATTENTION_H_
#define GLASERVE_KERNELS_CPU_GLA_ATTENTION_H_

#include <cstdint>

namespace glaserve::kernels {

struct GlaHeadArgs {
  int64_t num_tokens = 0;   // T
  int64_t head_k_dim = 0;   // dk
  int64_t head_v_dim = 0;   // dv
  int64_t num_q_heads = 1;  // query heads sharing this kv head (the kv group)
  // Rows are tokens; each *_stride is the distance between rows, in floats.
  const float* q = nullptr;  // [T, G, dk], already scaled by dk^-0.5; head g at q + g*q_head_stride
  int64_t q_stride = 0;
  int64_t q_head_stride = 0;
  const float* k = nullptr;  // [T, dk]
  int64_t k_stride = 0;
  const float* v = nullptr;  // [T, dv]
  int64_t v_stride = 0;
  const float* log_gate = nullptr;  // a: [T, dk], every value <= 0
  int64_t log_gate_stride = 0;
  float* state = nullptr;  // [dv, dk] fp32, read as the entering state, overwritten with the final one
  float* out = nullptr;    // [T, G, dv]; head g at out + g*out_head_stride
  int64_t out_stride = 0;
  int64_t out_head_stride = 0;
};

void GlaRecurrent(const GlaHeadArgs& args);

inline constexpr int64_t kGlaChunkSize = 64;
inline constexpr int64_t kGlaSubChunkSize = 16;
void GlaChunkwise(const GlaHeadArgs& args);

}  // namespace glaserve::kernels

#endif  // GLASERVE_KERNELS_CPU_GLA_ATTENTION_H_
