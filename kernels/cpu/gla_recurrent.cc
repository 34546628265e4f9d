// Token-by-token GLA: every state element is read, decayed, updated and dotted with q
// once per token. The state is v-first ([dv, dk]), so the inner loops run along
// contiguous dk rows.
#include <cmath>
#include <vector>

#include "kernels/cpu/gla_attention.h"

namespace glaserve::kernels {

void GlaRecurrent(const GlaHeadArgs& args) {
  const int64_t dk = args.head_k_dim, dv = args.head_v_dim, groups = args.num_q_heads;
  std::vector<float> decay(dk);
  for (int64_t t = 0; t < args.num_tokens; ++t) {
    const float* q = args.q + t * args.q_stride;
    const float* k = args.k + t * args.k_stride;
    const float* v = args.v + t * args.v_stride;
    const float* a = args.log_gate + t * args.log_gate_stride;
    float* out = args.out + t * args.out_stride;
    for (int64_t i = 0; i < dk; ++i) decay[i] = std::exp(a[i]);
    for (int64_t j = 0; j < dv; ++j) {
      float* row = args.state + j * dk;
      const float vj = v[j];
      for (int64_t i = 0; i < dk; ++i) row[i] = decay[i] * row[i] + k[i] * vj;
      for (int64_t g = 0; g < groups; ++g) {
        const float* qg = q + g * args.q_head_stride;
        float dot = 0;
        for (int64_t i = 0; i < dk; ++i) dot += qg[i] * row[i];
        out[g * args.out_head_stride + j] = dot;
      }
    }
  }
}

}  // namespace glaserve::kernels
