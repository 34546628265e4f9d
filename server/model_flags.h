// Flags shared by every subcommand that loads a model (--model, --device, --state-dtype).
#ifndef GLASERVE_SERVER_MODEL_FLAGS_H_
#define GLASERVE_SERVER_MODEL_FLAGS_H_

#include <filesystem>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "engine/model.h"

ABSL_DECLARE_FLAG(std::string, model);
ABSL_DECLARE_FLAG(std::string, device);
ABSL_DECLARE_FLAG(std::string, state_dtype);

namespace glaserve {

// --model, or the shipped default model when it is not given.
std::filesystem::path ModelDirFromFlags();

// The backend --device names on this machine: "cpu" or "cuda".
std::string DeviceFromFlags(const ModelConfig& config);

absl::StatusOr<LoadedModel> LoadModelFromFlags(int32_t num_slots, int64_t max_batch_tokens = 2048);

}  // namespace glaserve

#endif  // GLASERVE_SERVER_MODEL_FLAGS_H_
