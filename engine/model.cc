#include "engine/model.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/checkpoint.h"
#include "engine/cpu_model_runner.h"
#include "engine/model_fingerprint.h"
#ifdef GLASERVE_HAVE_CUDA
#include "engine/cuda/cuda_device.h"
#include "engine/cuda/cuda_model_runner.h"
#endif

namespace glaserve {

std::string ResolveDevice(const std::string& device, const ModelConfig& config) {
  if (device != "auto") return device;
#ifdef GLASERVE_HAVE_CUDA
  if (CudaDeviceCount() > 0 && CudaModelRunner::Supports(config).ok()) return "cuda";
#else
  (void)config;
#endif
  return "cpu";
}

int64_t StateDtypeBytes(const std::string& state_dtype) {
  if (state_dtype == "f32") return 4;
  if (state_dtype == "bf16") return 2;
  return 0;
}

absl::StatusOr<LoadedModel> LoadModel(const LoadModelOptions& options) {
  if (options.device != "cpu" && options.device != "cuda" && options.device != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("device=", options.device, " is not one of cpu, cuda, auto"));
  }
  absl::StatusOr<ModelConfig> config = LoadModelConfig(options.dir);
  if (!config.ok()) return config.status();
  const std::string device = ResolveDevice(options.device, *config);
#ifdef GLASERVE_HAVE_CUDA
  if (device == "cuda" && CudaDeviceCount() == 0) {
    return absl::FailedPreconditionError("device=cuda: no CUDA GPU is visible to this process; use --device cpu");
  }
  if (device == "cuda") {
    if (absl::Status supported = CudaModelRunner::Supports(*config); !supported.ok()) return supported;
  }
#else
  if (device == "cuda") {
    return absl::UnimplementedError(
        "device=cuda: this build has no CUDA backend (configure with the CUDA toolkit); use --device cpu");
  }
#endif
  if (StateDtypeBytes(options.state_dtype) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("state_dtype=", options.state_dtype, " is not one of f32, bf16"));
  }
  if (device == "cpu" && options.state_dtype != "f32") {
    return absl::InvalidArgumentError(
        absl::StrCat("state_dtype=", options.state_dtype, " needs device=cuda; the CPU backend keeps f32 states"));
  }
  if (options.num_slots <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("num_slots=", options.num_slots, " must be >= 1"));
  }
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(options.dir);
  if (!checkpoint.ok()) return checkpoint.status();

  LoadedModel model;
  model.name = (*checkpoint)->name();
  model.config = (*checkpoint)->config();
  model.weight_dtype = (*checkpoint)->weight_dtype();
  model.fingerprint = ModelFingerprint(**checkpoint);
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::Load(options.dir, model.config.bos_token_id, model.config.eos_token_id);
  if (tokenizer.ok()) {
    model.tokenizer = *std::move(tokenizer);
  } else if (!absl::IsNotFound(tokenizer.status())) {
    return tokenizer.status();  // present but unreadable: refuse rather than serve ids only
  }
#ifdef GLASERVE_HAVE_CUDA
  if (device == "cuda") {
    CudaRunnerOptions cuda;
    cuda.num_slots = options.num_slots;
    cuda.state_dtype =
        options.state_dtype == "bf16" ? kernels::cuda::StateDType::kBF16 : kernels::cuda::StateDType::kF32;
    cuda.max_batch_tokens = options.max_batch_tokens;
    model.runner = std::make_unique<CudaModelRunner>(model.config, CudaModelWeights::Load(**checkpoint), cuda);
    return model;
  }
#endif
  // The CPU runner converts the weights to fp32 once; the mapping is released afterwards.
  model.runner = std::make_unique<CpuModelRunner>(**checkpoint, options.num_slots);
  return model;
}

}  // namespace glaserve
