#include "engine/cpu_model_runner.h"

#include <algorithm>
#include <cmath>

#include "engine/check.h"
#include "kernels/cpu/activations.h"
#include "kernels/cpu/gla_attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rms_norm.h"

namespace glaserve {

CpuModelRunner::CpuModelRunner(const Checkpoint& checkpoint, int32_t num_slots)
    : config_(checkpoint.config()),
      layout_(AttnProjLayout::For(config_)),
      weights_(CpuModelWeights::Load(checkpoint)),
      num_slots_(num_slots),
      states_(static_cast<size_t>(num_slots) * config_.state_elements_per_sequence(), 0.0f) {
  CHECK_GT(num_slots, 0);
}

int64_t CpuModelRunner::state_bytes_per_sequence() const {
  return config_.state_elements_per_sequence() * static_cast<int64_t>(sizeof(float));
}

std::span<float> CpuModelRunner::SlotState(int32_t slot) {
  CHECK(slot >= 0 && slot < num_slots_) << "slot " << slot << " out of range";
  const int64_t n = config_.state_elements_per_sequence();
  return std::span<float>(states_).subspan(slot * n, n);
}

void CpuModelRunner::ResetSlot(int32_t slot) {
  std::span<float> state = SlotState(slot);
  std::fill(state.begin(), state.end(), 0.0f);
}

void CpuModelRunner::ReadSlotState(int32_t slot, std::span<std::byte> bytes) {
  const std::span<const std::byte> state = std::as_bytes(SlotState(slot));
  CHECK_EQ(bytes.size(), state.size()) << "ReadSlotState: wrong byte count";
  std::copy(state.begin(), state.end(), bytes.begin());
}

void CpuModelRunner::WriteSlotState(int32_t slot, std::span<const std::byte> bytes) {
  const std::span<std::byte> state = std::as_writable_bytes(SlotState(slot));
  CHECK_EQ(bytes.size(), state.size()) << "WriteSlotState: wrong byte count";
  std::copy(bytes.begin(), bytes.end(), state.begin());
}

void CpuModelRunner::CopySlotState(int32_t from, int32_t to) {
  const std::span<const float> source = SlotState(from);
  std::copy(source.begin(), source.end(), SlotState(to).begin());
}

void CpuModelRunner::Attention(int64_t layer, std::span<const SequenceBatchEntry> batch,
                               const float* proj, float* log_gate, float* attn_out) {
  const ModelConfig& c = config_;
  const CpuLayerWeights& w = weights_.layers[layer];
  const int64_t width = layout_.width, dk = c.head_k_dim, dv = c.head_v_dim;
  int64_t total_tokens = 0;
  for (const SequenceBatchEntry& entry : batch) total_tokens += entry.token_ids.size();

  // Forget gate a = logsigmoid(W1 (W0 h) + bias) / normalizer, clamped from below if asked.
  kernels::Linear(proj + layout_.gk, width, total_tokens, c.gate_low_rank_dim, w.gk_up_proj.data(),
                  c.kv_key_dim(), log_gate, c.kv_key_dim());
  const float inv_normalizer = static_cast<float>(1.0 / c.gate_logit_normalizer);
  for (int64_t t = 0; t < total_tokens; ++t) {
    float* a = log_gate + t * c.kv_key_dim();
    for (int64_t i = 0; i < c.kv_key_dim(); ++i) {
      a[i] = kernels::LogSigmoid(a[i] + w.gk_bias[i]) * inv_normalizer;
      if (c.clamp_min) a[i] = std::max(a[i], static_cast<float>(*c.clamp_min));
    }
  }

  const int64_t layer_state = c.num_kv_heads * dv * dk;
  int64_t first_token = 0;
  for (const SequenceBatchEntry& entry : batch) {
    const int64_t num_tokens = entry.token_ids.size();
    float* seq_state = SlotState(entry.slot).data() + layer * layer_state;
    for (int64_t kv_head = 0; kv_head < c.num_kv_heads; ++kv_head) {
      const int64_t first_q_head = kv_head * c.kv_group_size();
      const float* rows = proj + first_token * width;
      kernels::GlaHeadArgs args;
      args.num_tokens = num_tokens;
      args.head_k_dim = dk;
      args.head_v_dim = dv;
      args.num_q_heads = c.kv_group_size();
      args.q = rows + layout_.q + first_q_head * dk;
      args.q_stride = width;
      args.q_head_stride = dk;
      args.k = rows + layout_.k + kv_head * dk;
      args.k_stride = width;
      args.v = rows + layout_.v + kv_head * dv;
      args.v_stride = width;
      args.log_gate = log_gate + first_token * c.kv_key_dim() + kv_head * dk;
      args.log_gate_stride = c.kv_key_dim();
      args.state = seq_state + kv_head * dv * dk;
      args.out = attn_out + first_token * c.value_dim + first_q_head * dv;
      args.out_stride = c.value_dim;
      args.out_head_stride = dv;
      // One token is a decode step: the recurrence is exact and cheapest there.
      if (num_tokens == 1) {
        kernels::GlaRecurrent(args);
      } else {
        kernels::GlaChunkwise(args);
      }
    }
    first_token += num_tokens;
  }

  // Per-head output norm over dv, then the swish output gate.
  const float eps = static_cast<float>(c.norm_eps);
  kernels::RmsNorm(attn_out, dv, w.output_norm.data(), total_tokens * c.num_heads, dv, eps,
                   attn_out, dv);
  if (c.use_output_gate) {
    for (int64_t t = 0; t < total_tokens; ++t) {
      const float* g = proj + t * width + layout_.g;
      float* o = attn_out + t * c.value_dim;
      for (int64_t j = 0; j < c.value_dim; ++j) o[j] *= kernels::Silu(g[j]);
    }
  }
}

void CpuModelRunner::Forward(std::span<const SequenceBatchEntry> batch, std::span<float> logits) {
  const ModelConfig& c = config_;
  const int64_t d = c.hidden_size, inter = c.intermediate_size;
  const float eps = static_cast<float>(c.norm_eps);
  int64_t total_tokens = 0;
  for (const SequenceBatchEntry& entry : batch) {
    CHECK(!entry.token_ids.empty()) << "Forward: an entry has no tokens";
    total_tokens += entry.token_ids.size();
  }
  CHECK_GE(static_cast<int64_t>(logits.size()), static_cast<int64_t>(batch.size()) * c.vocab_size);

  // Activations for the packed tokens of all sequences, end to end.
  std::vector<float> x(total_tokens * d);          // residual stream [T, D]
  std::vector<float> h(total_tokens * d);          // normed input [T, D]
  std::vector<float> proj(total_tokens * std::max(layout_.width, 2 * inter));
  std::vector<float> log_gate(total_tokens * c.kv_key_dim());
  std::vector<float> attn_out(total_tokens * c.value_dim);
  std::vector<float> mlp_act(total_tokens * inter);

  int64_t t = 0;
  for (const SequenceBatchEntry& entry : batch) {
    for (int32_t id : entry.token_ids) {
      CHECK(id >= 0 && id < c.vocab_size) << "token id " << id << " outside the vocabulary";
      std::copy_n(weights_.embeddings.data() + id * d, d, x.data() + t * d);
      ++t;
    }
  }

  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const CpuLayerWeights& w = weights_.layers[layer];
    kernels::RmsNorm(x.data(), d, w.attn_norm.data(), total_tokens, d, eps, h.data(), d);
    kernels::Linear(h.data(), d, total_tokens, d, w.attn_in_proj.data(), layout_.width, proj.data(),
                    layout_.width);
    Attention(layer, batch, proj.data(), log_gate.data(), attn_out.data());
    kernels::Linear(attn_out.data(), c.value_dim, total_tokens, c.value_dim, w.o_proj.data(), d,
                    x.data(), d, /*accumulate=*/true);

    kernels::RmsNorm(x.data(), d, w.mlp_norm.data(), total_tokens, d, eps, h.data(), d);
    kernels::Linear(h.data(), d, total_tokens, d, w.mlp_gate_up_proj.data(), 2 * inter, proj.data(),
                    2 * inter);
    for (int64_t r = 0; r < total_tokens; ++r) {
      const float* gate = proj.data() + r * 2 * inter;
      const float* up = gate + inter;
      float* act = mlp_act.data() + r * inter;
      for (int64_t j = 0; j < inter; ++j) act[j] = kernels::Silu(gate[j]) * up[j];
    }
    kernels::Linear(mlp_act.data(), inter, total_tokens, inter, w.mlp_down_proj.data(), d, x.data(),
                    d, /*accumulate=*/true);
  }

  // Only each sequence's last position goes through the final norm and the LM head, as one
  // matmul over the gathered rows.
  std::vector<int64_t> wanted;  // batch index of each gathered row
  int64_t last = -1;
  for (size_t i = 0; i < batch.size(); ++i) {
    last += batch[i].token_ids.size();
    if (!batch[i].want_logits) continue;
    kernels::RmsNorm(x.data() + last * d, d, weights_.final_norm.data(), 1, d, eps,
                     h.data() + wanted.size() * d, d);
    wanted.push_back(i);
  }
  if (wanted.empty()) return;
  std::vector<float> gathered_logits(wanted.size() * c.vocab_size);
  kernels::Linear(h.data(), d, wanted.size(), d, weights_.lm_head_data(), c.vocab_size,
                  gathered_logits.data(), c.vocab_size);
  for (size_t r = 0; r < wanted.size(); ++r) {
    std::copy_n(gathered_logits.data() + r * c.vocab_size, c.vocab_size,
                logits.data() + wanted[r] * c.vocab_size);
  }
}

}  // namespace glaserve
