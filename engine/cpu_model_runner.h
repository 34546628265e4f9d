// The CPU backend: fp32 weights and states, BLAS matmuls, chunkwise prefill and recurrent
// decode from kernels/cpu. The reference the CUDA backend is tested against, and the
// path that runs where there is no GPU.
#ifndef GLASERVE_ENGINE_CPU_MODEL_RUNNER_H_
#define GLASERVE_ENGINE_CPU_MODEL_RUNNER_H_

#include <memory>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/cpu_model_weights.h"
#include "engine/model_runner.h"

namespace glaserve {

class CpuModelRunner : public ModelRunner {
 public:
  CpuModelRunner(const Checkpoint& checkpoint, int32_t num_slots);

  const ModelConfig& config() const override { return config_; }
  int32_t num_slots() const override { return num_slots_; }
  int64_t state_bytes_per_sequence() const override;
  std::string device_name() const override { return "cpu"; }
  std::string state_dtype_name() const override { return "f32"; }
  void ResetSlot(int32_t slot) override;
  void ReadSlotState(int32_t slot, std::span<std::byte> bytes) override;
  void WriteSlotState(int32_t slot, std::span<const std::byte> bytes) override;
  void CopySlotState(int32_t from, int32_t to) override;
  void Forward(std::span<const SequenceBatchEntry> batch, std::span<float> logits) override;

  // One slot's state, [L, H_kv, dv, dk] fp32: for tests and state export.
  std::span<float> SlotState(int32_t slot);

 private:
  // Runs attention of one layer for every entry, reading the projections in `proj`
  // ([T, layout width]) and writing concatenated head outputs to `attn_out` ([T, Vd]).
  void Attention(int64_t layer, std::span<const SequenceBatchEntry> batch, const float* proj,
                 float* log_gate, float* attn_out);

  ModelConfig config_;
  AttnProjLayout layout_;
  CpuModelWeights weights_;
  int32_t num_slots_;
  // [slots, L, H_kv, dv, dk] fp32: each head's state as dv rows of dk ("v-first").
  std::vector<float> states_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CPU_MODEL_RUNNER_H_
