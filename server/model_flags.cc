#include "server/model_flags.h"

#include "absl/flags/flag.h"
#include "absl/status/status.h"

ABSL_FLAG(std::string, model, "", "Checkpoint directory (fla-format GLA: config.json, safetensors, tokenizer.model).");
ABSL_FLAG(std::string, device, "auto", "Backend: cpu, cuda or auto (cuda when available).");

namespace glaserve {

absl::StatusOr<LoadedModel> LoadModelFromFlags(int32_t num_slots) {
  LoadModelOptions options;
  options.dir = absl::GetFlag(FLAGS_model);
  if (options.dir.empty()) return absl::InvalidArgumentError("--model is required");
  options.device = absl::GetFlag(FLAGS_device);
  options.num_slots = num_slots;
  return LoadModel(options);
}

}  // namespace glaserve
