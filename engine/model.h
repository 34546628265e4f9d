// Loading a model for serving: checkpoint -> backend runner + tokenizer.
#ifndef GLASERVE_ENGINE_MODEL_H_
#define GLASERVE_ENGINE_MODEL_H_

#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/model_config.h"
#include "engine/model_runner.h"
#include "engine/safetensors_file.h"
#include "engine/tokenizer.h"

namespace glaserve {

struct LoadModelOptions {
  std::filesystem::path dir;
  std::string device = "auto";  // "cpu", "cuda" or "auto" (cuda when built with it and a GPU is present)
  int32_t num_slots = 1;        // states the runner allocates
  std::string state_dtype = "f32";  // "f32" or "bf16" (bf16: CUDA only)
  int64_t max_batch_tokens = 2048;  // tokens per Forward the runner prepares for
};

struct LoadedModel {
  std::string name;  // the checkpoint directory's name
  ModelConfig config;
  DType weight_dtype = DType::kF32;  // as stored in the checkpoint
  uint64_t fingerprint = 0;          // identifies the weights (model_fingerprint.h)
  std::unique_ptr<Tokenizer> tokenizer;  // null when the checkpoint has no tokenizer.model
  std::unique_ptr<ModelRunner> runner;
};

// "cpu" or "cuda": what `device` ("cpu", "cuda", "auto") means on this machine and build
// for this model; "auto" is cuda when the build has the CUDA backend, a GPU is visible and
// the GPU kernels support the model's head dimensions.
std::string ResolveDevice(const std::string& device, const ModelConfig& config);

// Bytes of one state element for a --state-dtype value (0 when the name is unknown).
int64_t StateDtypeBytes(const std::string& state_dtype);

// Every failure (missing or corrupt files, unsupported config, unknown device) comes back
// as a status whose message says what and where.
absl::StatusOr<LoadedModel> LoadModel(const LoadModelOptions& options);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_MODEL_H_
