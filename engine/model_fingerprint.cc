#include "engine/model_fingerprint.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/fnv1a.h"

namespace glaserve {
namespace {

constexpr size_t kSampleBytes = 256;

}  // namespace

uint64_t ModelFingerprint(const Checkpoint& checkpoint) {
  const ModelConfig& c = checkpoint.config();
  uint64_t hash = Fnv1aAppend(
      kFnv1aOffset,
      absl::StrCat("gla D=", c.hidden_size, " L=", c.num_hidden_layers, " H=", c.num_heads, " Hkv=", c.num_kv_heads,
                   " dk=", c.head_k_dim, " dv=", c.head_v_dim, " I=", c.intermediate_size, " V=", c.vocab_size,
                   " tied=", c.tie_word_embeddings, " eps=", c.norm_eps, " act=", c.hidden_act,
                   " gate=", c.use_output_gate, " R=", c.gate_low_rank_dim, " norm=", c.gate_logit_normalizer,
                   " clamp=", c.clamp_min ? absl::StrCat(*c.clamp_min) : "none"));
  for (const auto& [name, shape] : ExpectedTensors(c)) {
    const TensorView& tensor = checkpoint.tensor(name);
    hash = Fnv1aAppend(hash, absl::StrCat(name, ":", DTypeName(tensor.dtype), ":", tensor.bytes.size()));
    const size_t n = std::min(kSampleBytes, tensor.bytes.size());
    hash = Fnv1aAppend(hash, tensor.bytes.first(n));
    hash = Fnv1aAppend(hash, tensor.bytes.last(n));
  }
  return hash;
}

}  // namespace glaserve
