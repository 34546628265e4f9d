#include "engine/cuda/cuda_model_runner.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/cuda/cublas_linear.h"
#include "engine/cuda/cuda_check.h"
#include "kernels/cuda/embedding.h"
#include "kernels/cuda/gated_head_norm.h"
#include "kernels/cuda/gla_gate.h"
#include "kernels/cuda/rms_norm.h"
#include "kernels/cuda/swiglu.h"

namespace glaserve {
namespace {

using kernels::cuda::StateDType;

// Decode batch sizes with a captured graph; a step is padded up to the next one. Dense
// at small sizes, where one padded row costs relatively most.
constexpr int32_t kGraphBuckets[] = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 448, 512,
                                     640, 768, 896, 1024};
constexpr size_t kCublasWorkspaceBytes = 32 << 20;

size_t StateElementBytes(StateDType dtype) { return dtype == StateDType::kF32 ? 4 : 2; }

}  // namespace

absl::Status CudaModelRunner::Supports(const ModelConfig& c) {
  if (c.head_k_dim != 64 && c.head_k_dim != 128 && c.head_k_dim != 256) {
    return absl::InvalidArgumentError(absl::StrCat("head_k_dim=", c.head_k_dim,
                                                   " (hidden_size*expand_k/num_heads) is not supported by the CUDA "
                                                   "kernels: must be 64, 128 or 256; use --device cpu"));
  }
  if (c.head_v_dim % 64 != 0 || c.head_v_dim > 512) {
    return absl::InvalidArgumentError(absl::StrCat("head_v_dim=", c.head_v_dim,
                                                   " (hidden_size*expand_v/num_heads) is not supported by the CUDA "
                                                   "kernels: must be a multiple of 64 up to 512; use --device cpu"));
  }
  if (c.num_heads / c.num_kv_heads > 16) {
    return absl::InvalidArgumentError(absl::StrCat("num_heads/num_kv_heads=", c.num_heads / c.num_kv_heads,
                                                   " is not supported by the CUDA kernels: at most 16"));
  }
  return absl::OkStatus();
}

CudaModelRunner::CudaModelRunner(const ModelConfig& config, CudaModelWeights weights,
                                 const CudaRunnerOptions& options)
    : config_(config), options_(options), layout_(AttnProjLayout::For(config)), weights_(std::move(weights)) {
  CHECK_GT(options.num_slots, 0);
  CUDA_CHECK(cudaSetDevice(options.device));
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
  CUDA_CHECK(cudaEventCreateWithFlags(&snapshot_taken_, cudaEventDisableTiming));
  CUBLAS_CHECK(cublasCreate(&cublas_));
  CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  // A fixed workspace keeps cuBLAS from allocating inside graph capture.
  cublas_workspace_.Resize(kCublasWorkspaceBytes);
  CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_.data(), cublas_workspace_.bytes()));

  state_elements_ = config_.state_elements_per_sequence();
  scratch_slot_ = options.num_slots;
  states_.Resize((options.num_slots + 1) * state_elements_ * StateElementBytes(options.state_dtype));
  CUDA_CHECK(cudaMemset(states_.data(), 0, states_.bytes()));

  const int32_t max_rows = GraphBucket(options.num_slots);
  logits_.Resize(static_cast<size_t>(max_rows) * config_.vocab_size);
  sampling_rows_.Resize(max_rows);
  sampled_ids_.Resize(static_cast<size_t>(max_rows) * (1 + kernels::cuda::kMaxSamplingTopLogprobs));
  sampled_logprobs_.Resize(sampled_ids_.size());
  CUDA_CHECK(cudaMallocHost(&host_logits_, logits_.bytes()));
  EnsureCapacity(std::max<int64_t>(options.max_batch_tokens, max_rows));
}

CudaModelRunner::~CudaModelRunner() {
  for (auto& [bucket, graph] : decode_graphs_) cudaGraphExecDestroy(graph);
  if (host_inputs_ != nullptr) cudaFreeHost(host_inputs_);
  if (host_logits_ != nullptr) cudaFreeHost(host_logits_);
  if (snapshot_host_ != nullptr) cudaFreeHost(snapshot_host_);
  if (snapshot_taken_ != nullptr) cudaEventDestroy(snapshot_taken_);
  if (copy_stream_ != nullptr) cudaStreamDestroy(copy_stream_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

int64_t CudaModelRunner::state_bytes_per_sequence() const {
  return state_elements_ * static_cast<int64_t>(StateElementBytes(options_.state_dtype));
}

std::string CudaModelRunner::device_name() const { return absl::StrCat("cuda:", options_.device); }

std::string CudaModelRunner::state_dtype_name() const {
  return options_.state_dtype == StateDType::kF32 ? "f32" : "bf16";
}

int32_t CudaModelRunner::GraphBucket(int32_t batch_size) const {
  for (int32_t bucket : kGraphBuckets) {
    if (bucket >= batch_size) return bucket;
  }
  return batch_size;  // beyond the largest bucket: no graph, no padding
}

void* CudaModelRunner::SlotStatePtr(int32_t slot) const {
  CHECK(slot >= 0 && slot <= options_.num_slots) << "slot " << slot << " out of range";
  return const_cast<std::byte*>(states_.data()) + slot * state_bytes_per_sequence();
}

void CudaModelRunner::ResetSlot(int32_t slot) {
  CHECK_LT(slot, options_.num_slots);
  CUDA_CHECK(cudaMemsetAsync(SlotStatePtr(slot), 0, state_bytes_per_sequence(), stream_));
}

void CudaModelRunner::ReadSlotState(int32_t slot, std::span<std::byte> bytes) {
  CHECK_LT(slot, options_.num_slots);
  CHECK_EQ(static_cast<int64_t>(bytes.size()), state_bytes_per_sequence()) << "ReadSlotState: wrong byte count";
  CUDA_CHECK(cudaMemcpyAsync(bytes.data(), SlotStatePtr(slot), bytes.size(), cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaModelRunner::WriteSlotState(int32_t slot, std::span<const std::byte> bytes) {
  CHECK_LT(slot, options_.num_slots);
  CHECK_EQ(static_cast<int64_t>(bytes.size()), state_bytes_per_sequence()) << "WriteSlotState: wrong byte count";
  CUDA_CHECK(cudaMemcpyAsync(SlotStatePtr(slot), bytes.data(), bytes.size(), cudaMemcpyHostToDevice, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));  // the caller may free `bytes` on return
}

void CudaModelRunner::CopySlotState(int32_t from, int32_t to) {
  CHECK(from < options_.num_slots && to < options_.num_slots);
  CUDA_CHECK(cudaMemcpyAsync(SlotStatePtr(to), SlotStatePtr(from), state_bytes_per_sequence(),
                             cudaMemcpyDeviceToDevice, stream_));
}

void CudaModelRunner::StartReadSlotState(int32_t slot, std::span<std::byte> bytes) {
  CHECK_LT(slot, options_.num_slots);
  const size_t state_bytes = state_bytes_per_sequence();
  CHECK_EQ(bytes.size(), state_bytes) << "StartReadSlotState: wrong byte count";
  const int32_t index = static_cast<int32_t>(snapshot_destinations_.size());
  if (index == snapshot_capacity_) {
    FinishSlotStateReads();  // nothing in flight while the buffers grow
    snapshot_capacity_ = std::max(2 * snapshot_capacity_, 1);
    snapshot_device_.Resize(snapshot_capacity_ * state_bytes);
    if (snapshot_host_ != nullptr) CUDA_CHECK(cudaFreeHost(snapshot_host_));
    CUDA_CHECK(cudaMallocHost(&snapshot_host_, snapshot_capacity_ * state_bytes));
    return StartReadSlotState(slot, bytes);
  }
  std::byte* device_copy = snapshot_device_.data() + index * state_bytes;
  // In stream order, after the Forward that made this state and before any that changes it.
  CUDA_CHECK(cudaMemcpyAsync(device_copy, SlotStatePtr(slot), state_bytes, cudaMemcpyDeviceToDevice, stream_));
  CUDA_CHECK(cudaEventRecord(snapshot_taken_, stream_));
  CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, snapshot_taken_, 0));
  CUDA_CHECK(cudaMemcpyAsync(snapshot_host_ + index * state_bytes, device_copy, state_bytes, cudaMemcpyDeviceToHost,
                             copy_stream_));
  snapshot_destinations_.push_back(bytes);
}

void CudaModelRunner::FinishSlotStateReads() {
  if (snapshot_destinations_.empty()) return;
  CUDA_CHECK(cudaStreamSynchronize(copy_stream_));
  const size_t state_bytes = state_bytes_per_sequence();
  for (size_t i = 0; i < snapshot_destinations_.size(); ++i) {
    std::copy_n(snapshot_host_ + i * state_bytes, state_bytes, snapshot_destinations_[i].begin());
  }
  snapshot_destinations_.clear();
}

void CudaModelRunner::EnsureCapacity(int64_t num_tokens) {
  if (num_tokens <= capacity_) return;
  const ModelConfig& c = config_;
  capacity_ = num_tokens;
  x_.Resize(capacity_ * c.hidden_size);
  h_.Resize(capacity_ * c.hidden_size);
  proj_.Resize(capacity_ * std::max(layout_.width, 2 * c.intermediate_size));
  log_gate_.Resize(capacity_ * c.kv_key_dim());
  attn_.Resize(capacity_ * c.value_dim);
  attn_bf16_.Resize(capacity_ * c.value_dim);
  act_.Resize(capacity_ * c.intermediate_size);
  const int64_t max_rows = GraphBucket(options_.num_slots);
  inputs_.Resize(capacity_ + 3 * max_rows);
  if (host_inputs_ != nullptr) CUDA_CHECK(cudaFreeHost(host_inputs_));
  CUDA_CHECK(cudaMallocHost(&host_inputs_, inputs_.bytes()));
  // Captured graphs point at the old buffers.
  for (auto& [bucket, graph] : decode_graphs_) CUDA_CHECK(cudaGraphExecDestroy(graph));
  decode_graphs_.clear();
}

CudaModelRunner::StepPlan CudaModelRunner::Plan(std::span<const SequenceBatchEntry> batch) const {
  StepPlan plan;
  int32_t num_single = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceBatchEntry& entry = batch[i];
    CHECK(!entry.token_ids.empty()) << "Forward: an entry has no tokens";
    if (entry.token_ids.size() == 1) {
      ++num_single;
    } else {
      plan.prefill_lengths.push_back(static_cast<int32_t>(entry.token_ids.size()));
    }
    if (entry.want_logits) plan.logit_entry.push_back(static_cast<int32_t>(i));
  }
  plan.num_decode = num_single;
  plan.graph_replay = options_.use_cuda_graphs && plan.prefill_lengths.empty() &&
                      static_cast<int32_t>(plan.logit_entry.size()) == num_single;
  if (plan.graph_replay) {
    const int32_t bucket = GraphBucket(num_single);
    plan.graph_replay = bucket <= GraphBucket(options_.num_slots);
    if (plan.graph_replay) plan.num_decode = bucket;
  }
  plan.num_tokens = plan.num_decode;
  for (int32_t length : plan.prefill_lengths) plan.num_tokens += length;
  plan.num_logit_rows = plan.graph_replay ? plan.num_decode : static_cast<int32_t>(plan.logit_entry.size());
  return plan;
}

void CudaModelRunner::StageInputs(std::span<const SequenceBatchEntry> batch, const StepPlan& plan) {
  const int64_t max_rows = GraphBucket(options_.num_slots);
  int32_t* tokens = host_inputs_;
  int32_t* decode_slots = host_inputs_ + capacity_;
  int32_t* prefill_slots = decode_slots + max_rows;
  int32_t* logit_rows = prefill_slots + max_rows;
  // Rows: single-token entries in batch order, padding, then multi-token entries.
  std::vector<int32_t> last_row(batch.size());
  int32_t decode_row = 0, prefill_row = plan.num_decode, num_prefill = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const SequenceBatchEntry& entry = batch[i];
    CHECK(entry.slot >= 0 && entry.slot < options_.num_slots) << "slot " << entry.slot << " out of range";
    for (int32_t id : entry.token_ids) {
      CHECK(id >= 0 && id < config_.vocab_size) << "token id " << id << " outside the vocabulary";
    }
    if (entry.token_ids.size() == 1) {
      decode_slots[decode_row] = entry.slot;
      tokens[decode_row] = entry.token_ids[0];
      last_row[i] = decode_row++;
    } else {
      prefill_slots[num_prefill++] = entry.slot;
      std::copy(entry.token_ids.begin(), entry.token_ids.end(), tokens + prefill_row);
      prefill_row += static_cast<int32_t>(entry.token_ids.size());
      last_row[i] = prefill_row - 1;
    }
  }
  for (; decode_row < plan.num_decode; ++decode_row) {  // graph padding: scratch slot, token 0
    decode_slots[decode_row] = scratch_slot_;
    tokens[decode_row] = 0;
  }
  for (size_t r = 0; r < plan.logit_entry.size(); ++r) logit_rows[r] = last_row[plan.logit_entry[r]];
  CUDA_CHECK(cudaMemcpyAsync(inputs_.data(), host_inputs_, inputs_.bytes(), cudaMemcpyHostToDevice, stream_));
}

void CudaModelRunner::RunModel(int32_t num_tokens, int32_t num_decode, std::span<const int32_t> prefill_lengths,
                               int32_t num_logit_rows, bool logit_rows_are_identity) {
  namespace kc = kernels::cuda;
  const ModelConfig& c = config_;
  const int64_t d = c.hidden_size, inter = c.intermediate_size, width = layout_.width;
  const float eps = static_cast<float>(c.norm_eps);
  const int64_t max_rows = GraphBucket(options_.num_slots);
  const int32_t* tokens = inputs_.data();
  const int32_t* decode_slots = inputs_.data() + capacity_;
  const int32_t* prefill_slots = decode_slots + max_rows;
  const int32_t* logit_rows = prefill_slots + max_rows;
  const int64_t layer_state_elements = c.num_kv_heads * c.head_v_dim * c.head_k_dim;
  const size_t element_bytes = StateElementBytes(options_.state_dtype);

  CUDA_CHECK(kc::LaunchEmbedding({num_tokens, static_cast<int32_t>(d), tokens, weights_.embeddings.data(), x_.data()},
                                 stream_));
  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const CudaLayerWeights& w = weights_.layers[layer];
    void* layer_state = states_.data() + layer * layer_state_elements * element_bytes;

    kc::RmsNormArgs norm;
    norm.num_rows = num_tokens;
    norm.width = static_cast<int32_t>(d);
    norm.in = x_.data();
    norm.in_stride = d;
    norm.weight = w.attn_norm.data();
    norm.eps = eps;
    norm.out = h_.data();
    norm.out_stride = d;
    CUDA_CHECK(kc::LaunchRmsNorm(norm, stream_));
    Linear(cublas_, {num_tokens, d, width, h_.data(), d, w.attn_in_proj.data(), proj_.data(), width, false});

    kc::GlaGateArgs gate;
    gate.num_tokens = num_tokens;
    gate.low_rank_dim = static_cast<int32_t>(c.gate_low_rank_dim);
    gate.gate_dim = static_cast<int32_t>(c.kv_key_dim());
    gate.low_rank = proj_.data() + layout_.gk;
    gate.low_rank_stride = width;
    gate.up_proj = w.gk_up_proj.data();
    gate.bias = w.gk_bias.data();
    gate.inv_normalizer = static_cast<float>(1.0 / c.gate_logit_normalizer);
    gate.clamp_min = c.clamp_min ? static_cast<float>(*c.clamp_min) : -INFINITY;
    gate.out = log_gate_.data();
    gate.out_stride = c.kv_key_dim();
    CUDA_CHECK(kc::LaunchGlaGate(gate, stream_));

    if (num_decode > 0) {
      kc::GlaDecodeArgs dec;
      dec.batch = num_decode;
      dec.num_heads = static_cast<int32_t>(c.num_heads);
      dec.num_kv_heads = static_cast<int32_t>(c.num_kv_heads);
      dec.head_k_dim = static_cast<int32_t>(c.head_k_dim);
      dec.head_v_dim = static_cast<int32_t>(c.head_v_dim);
      dec.q = proj_.data() + layout_.q;
      dec.q_stride = width;
      dec.k = proj_.data() + layout_.k;
      dec.k_stride = width;
      dec.v = proj_.data() + layout_.v;
      dec.v_stride = width;
      dec.log_gate = log_gate_.data();
      dec.log_gate_stride = c.kv_key_dim();
      dec.slots = decode_slots;
      dec.state = layer_state;
      dec.slot_stride = state_elements_;
      dec.state_dtype = options_.state_dtype;
      dec.out = attn_.data();
      dec.out_stride = c.value_dim;
      CUDA_CHECK(kc::LaunchGlaDecode(dec, stream_));
    }
    if (!prefill_lengths.empty()) {
      const int64_t row = num_decode;
      kc::GlaChunkwiseArgs pre;
      pre.num_heads = static_cast<int32_t>(c.num_heads);
      pre.num_kv_heads = static_cast<int32_t>(c.num_kv_heads);
      pre.head_k_dim = static_cast<int32_t>(c.head_k_dim);
      pre.head_v_dim = static_cast<int32_t>(c.head_v_dim);
      pre.q = proj_.data() + row * width + layout_.q;
      pre.q_stride = width;
      pre.k = proj_.data() + row * width + layout_.k;
      pre.k_stride = width;
      pre.v = proj_.data() + row * width + layout_.v;
      pre.v_stride = width;
      pre.log_gate = log_gate_.data() + row * c.kv_key_dim();
      pre.log_gate_stride = c.kv_key_dim();
      pre.slots = prefill_slots;
      pre.state = layer_state;
      pre.slot_stride = state_elements_;
      pre.state_dtype = options_.state_dtype;
      pre.out = attn_.data() + row * c.value_dim;
      pre.out_stride = c.value_dim;
      CUDA_CHECK(kc::LaunchGlaChunkwise(pre, prefill_lengths.data(), static_cast<int32_t>(prefill_lengths.size()),
                                        chunkwise_workspace_, stream_));
    }

    kc::GatedHeadNormArgs head_norm;
    head_norm.num_tokens = num_tokens;
    head_norm.num_heads = static_cast<int32_t>(c.num_heads);
    head_norm.head_dim = static_cast<int32_t>(c.head_v_dim);
    head_norm.in = attn_.data();
    head_norm.in_stride = c.value_dim;
    head_norm.weight = w.output_norm.data();
    head_norm.eps = eps;
    head_norm.gate = c.use_output_gate ? proj_.data() + layout_.g : nullptr;
    head_norm.gate_stride = width;
    head_norm.out = attn_bf16_.data();
    head_norm.out_stride = c.value_dim;
    CUDA_CHECK(kc::LaunchGatedHeadNorm(head_norm, stream_));
    Linear(cublas_, {num_tokens, c.value_dim, d, attn_bf16_.data(), c.value_dim, w.o_proj.data(), x_.data(), d,
                     /*accumulate=*/true});

    norm.weight = w.mlp_norm.data();
    CUDA_CHECK(kc::LaunchRmsNorm(norm, stream_));
    Linear(cublas_, {num_tokens, d, 2 * inter, h_.data(), d, w.mlp_gate_up_proj.data(), proj_.data(), 2 * inter,
                     false});
    CUDA_CHECK(kc::LaunchSwiGlu({num_tokens, static_cast<int32_t>(inter), proj_.data(), 2 * inter, act_.data(), inter},
                                stream_));
    Linear(cublas_, {num_tokens, inter, d, act_.data(), inter, w.mlp_down_proj.data(), x_.data(), d,
                     /*accumulate=*/true});
  }

  if (num_logit_rows == 0) return;
  // Only the rows whose logits are wanted go through the final norm (gathered) and the head.
  kc::RmsNormArgs final_norm;
  final_norm.num_rows = num_logit_rows;
  final_norm.width = static_cast<int32_t>(d);
  final_norm.in = x_.data();
  final_norm.in_stride = d;
  final_norm.row_index = logit_rows_are_identity ? nullptr : logit_rows;
  final_norm.weight = weights_.final_norm.data();
  final_norm.eps = eps;
  final_norm.out = h_.data();
  final_norm.out_stride = d;
  CUDA_CHECK(kc::LaunchRmsNorm(final_norm, stream_));
  Linear(cublas_, {num_logit_rows, d, c.vocab_size, h_.data(), d, weights_.lm_head_data(), logits_.data(),
                   c.vocab_size, false});
}

void CudaModelRunner::RunDecodeGraph(int32_t bucket) {
  auto it = decode_graphs_.find(bucket);
  if (it != decode_graphs_.end()) {
    CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
    return;
  }
  // First step of this size: run it eagerly (libraries load their kernels outside any
  // capture), then capture the same launches for later steps. A capture executes nothing;
  // every replay reads the inputs copied into inputs_ just before it.
  RunModel(bucket, bucket, {}, bucket, /*logit_rows_are_identity=*/true);
  cudaGraph_t graph;
  CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  RunModel(bucket, bucket, {}, bucket, /*logit_rows_are_identity=*/true);
  CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_CHECK(cudaGraphDestroy(graph));
  decode_graphs_.emplace(bucket, exec);
}

CudaModelRunner::StepPlan CudaModelRunner::Enqueue(std::span<const SequenceBatchEntry> batch) {
  StepPlan plan = Plan(batch);
  EnsureCapacity(plan.num_tokens);
  StageInputs(batch, plan);
  if (plan.graph_replay) {
    RunDecodeGraph(plan.num_decode);
  } else {
    RunModel(plan.num_tokens, plan.num_decode, plan.prefill_lengths, plan.num_logit_rows, false);
  }
  return plan;
}

const float* CudaModelRunner::ForwardOnDevice(std::span<const SequenceBatchEntry> batch) {
  Enqueue(batch);
  return logits_.data();
}

void CudaModelRunner::Forward(std::span<const SequenceBatchEntry> batch, std::span<float> logits) {
  const int64_t vocab = config_.vocab_size;
  CHECK_GE(static_cast<int64_t>(logits.size()), static_cast<int64_t>(batch.size()) * vocab);
  const StepPlan plan = Enqueue(batch);
  // Logits rows are in plan order: the wanted entries (graph replay: every row, in batch
  // order, which is the same order since a pure decode batch has no reordering).
  const size_t num_rows = plan.logit_entry.size();
  if (num_rows == 0) {
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return;
  }
  CUDA_CHECK(cudaMemcpyAsync(host_logits_, logits_.data(), num_rows * vocab * sizeof(float), cudaMemcpyDeviceToHost,
                             stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (size_t r = 0; r < num_rows; ++r) {
    std::copy_n(host_logits_ + r * vocab, vocab, logits.data() + plan.logit_entry[r] * vocab);
  }
}

void CudaModelRunner::ForwardAndSample(std::span<const SequenceBatchEntry> batch,
                                       std::span<const DeviceSamplingRequest> requests,
                                       std::span<SampledToken> tokens) {
  namespace kc = kernels::cuda;
  CHECK_EQ(requests.size(), batch.size());
  CHECK_EQ(tokens.size(), batch.size());
  const StepPlan plan = Enqueue(batch);
  const int32_t num_rows = static_cast<int32_t>(plan.logit_entry.size());
  if (num_rows == 0) {
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return;
  }
  // Row r of the logits belongs to entry plan.logit_entry[r]; stage its sampling inputs.
  std::vector<kc::SamplingRow> rows(num_rows);
  std::vector<int32_t> penalty_ids, penalty_counts, banned;
  int32_t num_top = 0;
  for (int32_t r = 0; r < num_rows; ++r) {
    const DeviceSamplingRequest& request = requests[plan.logit_entry[r]];
    CHECK(request.params != nullptr) << "ForwardAndSample: entry " << plan.logit_entry[r] << " has no request";
    const SamplingParams& p = *request.params;
    kc::SamplingRow& row = rows[r];
    row.temperature = p.temperature;
    row.top_k = p.top_k;
    row.top_p = p.top_p;
    row.min_p = p.min_p;
    row.repetition_penalty = p.repetition_penalty;
    row.presence_penalty = p.presence_penalty;
    row.frequency_penalty = p.frequency_penalty;
    row.seed = request.seed;
    row.offset = request.draw_index;
    row.penalty_begin = static_cast<int32_t>(penalty_ids.size());
    penalty_ids.insert(penalty_ids.end(), request.penalty_token_ids.begin(), request.penalty_token_ids.end());
    penalty_counts.insert(penalty_counts.end(), request.penalty_output_counts.begin(),
                          request.penalty_output_counts.end());
    row.penalty_end = static_cast<int32_t>(penalty_ids.size());
    row.banned_begin = static_cast<int32_t>(banned.size());
    banned.insert(banned.end(), request.banned_token_ids.begin(), request.banned_token_ids.end());
    row.banned_end = static_cast<int32_t>(banned.size());
    num_top = std::max(num_top, p.logprobs);
  }
  const size_t num_penalties = penalty_ids.size();
  std::vector<int32_t> ids = std::move(penalty_ids);
  ids.insert(ids.end(), penalty_counts.begin(), penalty_counts.end());
  ids.insert(ids.end(), banned.begin(), banned.end());
  if (sampling_ids_.Reserve(std::max<size_t>(ids.size(), 1))) CUDA_CHECK(cudaStreamSynchronize(stream_));
  CUDA_CHECK(cudaMemcpyAsync(sampling_rows_.data(), rows.data(), rows.size() * sizeof(kc::SamplingRow),
                             cudaMemcpyHostToDevice, stream_));
  if (!ids.empty()) {
    CUDA_CHECK(cudaMemcpyAsync(sampling_ids_.data(), ids.data(), ids.size() * sizeof(int32_t), cudaMemcpyHostToDevice,
                               stream_));
  }

  kc::SamplingArgs args;
  args.num_rows = num_rows;
  args.vocab_size = static_cast<int32_t>(config_.vocab_size);
  args.logits = logits_.data();
  args.logits_stride = config_.vocab_size;
  args.rows = sampling_rows_.data();
  args.penalty_token_ids = sampling_ids_.data();
  args.penalty_output_counts = sampling_ids_.data() + num_penalties;
  args.banned_token_ids = sampling_ids_.data() + 2 * num_penalties;
  args.num_top_logprobs = num_top;
  args.token_ids = sampled_ids_.data();
  args.logprobs = sampled_logprobs_.data();
  args.top_token_ids = sampled_ids_.data() + num_rows;
  args.top_logprobs = sampled_logprobs_.data() + num_rows;
  CUDA_CHECK(kc::LaunchSampling(args, stream_));

  const size_t out = static_cast<size_t>(num_rows) * (1 + num_top);
  host_sampled_ids_.resize(out);
  host_sampled_logprobs_.resize(out);
  CUDA_CHECK(cudaMemcpyAsync(host_sampled_ids_.data(), sampled_ids_.data(), out * sizeof(int32_t),
                             cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaMemcpyAsync(host_sampled_logprobs_.data(), sampled_logprobs_.data(), out * sizeof(float),
                             cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (int32_t r = 0; r < num_rows; ++r) {
    const int32_t entry = plan.logit_entry[r];
    SampledToken& token = tokens[entry];
    token.token_id = host_sampled_ids_[r];
    CHECK_GE(token.token_id, 0) << "the device sampler found no allowed token for entry " << entry;
    token.logprob = host_sampled_logprobs_[r];
    token.top.clear();
    for (int32_t j = 0; j < requests[entry].params->logprobs; ++j) {
      const size_t at = num_rows + static_cast<size_t>(r) * num_top + j;
      if (host_sampled_ids_[at] < 0) break;  // fewer tokens than asked for
      token.top.push_back({host_sampled_ids_[at], host_sampled_logprobs_[at]});
    }
  }
}

}  // namespace glaserve
