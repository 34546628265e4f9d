#include "engine/model.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/checkpoint.h"
#include "engine/cpu_model_runner.h"
#include "engine/model_fingerprint.h"

namespace glaserve {

absl::StatusOr<LoadedModel> LoadModel(const LoadModelOptions& options) {
  if (options.device != "cpu" && options.device != "cuda" && options.device != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("device=", options.device, " is not one of cpu, cuda, auto"));
  }
  if (options.device == "cuda") {
    return absl::UnimplementedError(
        "device=cuda: the CUDA backend is not available in this build; use --device cpu");
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
  // The CPU runner converts the weights to fp32 once; the mapping is released afterwards.
  model.runner = std::make_unique<CpuModelRunner>(**checkpoint, options.num_slots);
  return model;
}

}  // namespace glaserve
