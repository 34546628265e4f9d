// The model whose states the state_blob fuzz target parses: a 2-layer random GLA model,
// small so that a whole blob is 592 bytes. Its identity is written out here so that the
// target needs no checkpoint; make_state_blob_seeds.cc builds the model from
// kStateBlobFuzzModelArgs and checks that it still has this identity.
#ifndef GLASERVE_TESTS_FUZZ_STATE_BLOB_FUZZ_MODEL_H_
#define GLASERVE_TESTS_FUZZ_STATE_BLOB_FUZZ_MODEL_H_

#include "engine/state_blob.h"

namespace glaserve::fuzz {

// scripts/make_random_checkpoint.py arguments: D=16, 2 heads, so dk=4, dv=8.
inline constexpr const char* kStateBlobFuzzModelArgs =
    "--hidden-size 16 --num-layers 2 --num-heads 2 --vocab-size 64 --dtype f32 --seed 10";

inline StateIdentity StateBlobFuzzIdentity() {
  return {.model_fingerprint = 0xacdb3498f35893e8,  // what the seed maker prints for the model
          .state_dtype = "f32",
          .num_layers = 2,
          .num_kv_heads = 2,
          .head_v_dim = 8,
          .head_k_dim = 4,
          .state_bytes = 2 * 2 * 8 * 4 * 4,  // [L, H_kv, dv, dk] fp32
          .vocab_size = 64};
}

}  // namespace glaserve::fuzz

#endif  // GLASERVE_TESTS_FUZZ_STATE_BLOB_FUZZ_MODEL_H_
