// The CUDA backend (DESIGN.md sections 2-5): bf16 weights, cuBLAS matmuls, our GLA kernels
// (chunkwise prefill, recurrent decode) and fused small ops, every state in one device
// buffer indexed by slot. A pure decode step (one token per sequence) is replayed from a
// CUDA graph captured per batch-size bucket; prefill and mixed steps launch eagerly.
//
// All work of a Forward goes on one stream; Forward returns when the logits are on the host.
#ifndef GLASERVE_ENGINE_CUDA_CUDA_MODEL_RUNNER_H_
#define GLASERVE_ENGINE_CUDA_CUDA_MODEL_RUNNER_H_

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/cpu_model_weights.h"
#include "engine/cuda/cuda_model_weights.h"
#include "engine/cuda/device_array.h"
#include "engine/model_runner.h"
#include "kernels/cuda/gla_chunkwise.h"
#include "kernels/cuda/gla_decode.h"
#include "kernels/cuda/sampling.h"

namespace glaserve {

struct CudaRunnerOptions {
  int32_t num_slots = 1;
  kernels::cuda::StateDType state_dtype = kernels::cuda::StateDType::kF32;
  // Tokens per Forward the activations are first sized for; a larger Forward grows them.
  int64_t max_batch_tokens = 2048;
  // Replay pure decode steps from CUDA graphs (off: launch every kernel every step).
  bool use_cuda_graphs = true;
  int device = 0;
};

class CudaModelRunner : public ModelRunner {
 public:
  CudaModelRunner(const ModelConfig& config, CudaModelWeights weights, const CudaRunnerOptions& options);
  // OK when the GPU kernels cover this model's shapes, else INVALID_ARGUMENT naming the field.
  static absl::Status Supports(const ModelConfig& config);
  ~CudaModelRunner() override;
  CudaModelRunner(const CudaModelRunner&) = delete;
  CudaModelRunner& operator=(const CudaModelRunner&) = delete;

  const ModelConfig& config() const override { return config_; }
  int32_t num_slots() const override { return options_.num_slots; }
  int64_t state_bytes_per_sequence() const override;
  std::string device_name() const override;
  std::string state_dtype_name() const override;
  void ResetSlot(int32_t slot) override;
  void ReadSlotState(int32_t slot, std::span<std::byte> bytes) override;
  void WriteSlotState(int32_t slot, std::span<const std::byte> bytes) override;
  void CopySlotState(int32_t from, int32_t to) override;
  // A snapshot is copied on the device at once (microseconds) and to the host on a second
  // stream, overlapping the next Forward.
  void StartReadSlotState(int32_t slot, std::span<std::byte> bytes) override;
  void FinishSlotStateReads() override;
  void Forward(std::span<const SequenceBatchEntry> batch, std::span<float> logits) override;
  bool samples_on_device() const override { return true; }
  void ForwardAndSample(std::span<const SequenceBatchEntry> batch, std::span<const DeviceSamplingRequest> requests,
                        std::span<SampledToken> tokens) override;

  // Runs the batch and leaves the logits on the device: row i of the returned
  // [batch.size(), vocab] fp32 matrix belongs to entry i when it wants logits. Valid until
  // the next call; the work is queued on stream() (not waited for). For benchmarks and
  // for sampling on the device.
  const float* ForwardOnDevice(std::span<const SequenceBatchEntry> batch);
  cudaStream_t stream() const { return stream_; }
  const CudaModelWeights& weights() const { return weights_; }

 private:
  // How the entries of one Forward are laid out on the device: single-token entries
  // (decode steps) first, then multi-token entries (prompt pieces) end to end.
  struct StepPlan {
    int32_t num_tokens = 0;    // packed rows, padding included
    int32_t num_decode = 0;    // leading rows run by the decode kernel, padding included
    int32_t num_logit_rows = 0;
    std::vector<int32_t> prefill_lengths;  // tokens of each multi-token entry, in packed order
    std::vector<int32_t> logit_entry;      // batch index of each logits row
    bool graph_replay = false;             // a pure decode step padded to a graph bucket
  };

  StepPlan Plan(std::span<const SequenceBatchEntry> batch) const;
  // Plans, stages and queues the batch; the logits end up in logits_ in plan order.
  StepPlan Enqueue(std::span<const SequenceBatchEntry> batch);
  void StageInputs(std::span<const SequenceBatchEntry> batch, const StepPlan& plan);
  void EnsureCapacity(int64_t num_tokens);
  // Queues the whole model for the staged inputs.
  void RunModel(int32_t num_tokens, int32_t num_decode, std::span<const int32_t> prefill_lengths,
                int32_t num_logit_rows, bool logit_rows_are_identity);
  void RunDecodeGraph(int32_t bucket);
  void* SlotStatePtr(int32_t slot) const;
  int32_t GraphBucket(int32_t batch_size) const;

  ModelConfig config_;
  CudaRunnerOptions options_;
  AttnProjLayout layout_;
  CudaModelWeights weights_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  DeviceArray<std::byte> cublas_workspace_;

  // [slots + 1, L, H_kv, dv, dk] in state_dtype: v-first per head (DESIGN.md section 4).
  // The extra last slot is scratch for the padding rows of graph-replayed decode steps.
  DeviceArray<std::byte> states_;
  int64_t state_elements_ = 0;  // per slot
  int32_t scratch_slot_ = 0;

  // Activations for up to capacity_ packed tokens.
  int64_t capacity_ = 0;
  DeviceArray<float> x_;                  // residual stream [T, D]
  DeviceArray<__nv_bfloat16> h_;          // normed input of a matmul [T, D]
  DeviceArray<float> proj_;               // [T, layout width], later [T, 2I]
  DeviceArray<float> log_gate_;           // [T, Kkv]
  DeviceArray<float> attn_;               // head outputs [T, Vd]
  DeviceArray<__nv_bfloat16> attn_bf16_;  // normed, gated head outputs [T, Vd]
  DeviceArray<__nv_bfloat16> act_;        // SwiGLU output [T, I]
  DeviceArray<float> logits_;             // [num_slots + 1 padded, V]

  // Step inputs: [token ids (capacity) | decode slots | prefill slots | logit rows], staged
  // in pinned host memory and copied with one transfer.
  DeviceArray<int32_t> inputs_;
  int32_t* host_inputs_ = nullptr;
  float* host_logits_ = nullptr;  // pinned [num_slots + 1, V]
  kernels::cuda::GlaChunkwiseWorkspace chunkwise_workspace_;

  std::map<int32_t, cudaGraphExec_t> decode_graphs_;  // by bucket size

  // Snapshots in flight (StartReadSlotState): device copies, then pinned host copies made
  // on copy_stream_, then the callers' buffers once FinishSlotStateReads waits.
  cudaStream_t copy_stream_ = nullptr;
  cudaEvent_t snapshot_taken_ = nullptr;
  DeviceArray<std::byte> snapshot_device_;
  std::byte* snapshot_host_ = nullptr;  // pinned, snapshot_capacity_ states
  int32_t snapshot_capacity_ = 0;
  std::vector<std::span<std::byte>> snapshot_destinations_;

  // Sampling on the device: per-row parameters and penalty/banned id lists staged on the
  // host, the drawn ids and logprobs copied back (a few bytes per row, not the logits).
  DeviceArray<kernels::cuda::SamplingRow> sampling_rows_;
  DeviceArray<int32_t> sampling_ids_;  // [penalty ids | penalty counts | banned ids]
  DeviceArray<int32_t> sampled_ids_;   // [rows] then [rows, kMaxSamplingTopLogprobs]
  DeviceArray<float> sampled_logprobs_;  // the same shape
  std::vector<int32_t> host_sampled_ids_;
  std::vector<float> host_sampled_logprobs_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CUDA_CUDA_MODEL_RUNNER_H_
