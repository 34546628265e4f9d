#include "server/model_flags.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, model, "",
          "Checkpoint directory (fla-format GLA: config.json, safetensors, tokenizer.model). "
          "Default: the shipped models/gla-brown-4m.");
ABSL_FLAG(std::string, device, "auto", "Backend: cpu, cuda or auto (cuda when available).");
ABSL_FLAG(std::string, state_dtype, "f32",
          "Element type of the per-sequence GLA states: f32, or bf16 (CUDA only: half the memory "
          "and decode traffic, at a measured accuracy cost).");

namespace glaserve {
namespace {

// The model shipped in the repository, looked up from the working directory and from the
// executable's place in a build tree (build/bin/glaserve -> ../../models/...).
constexpr char kDefaultModel[] = "models/gla-brown-4m";

std::filesystem::path DefaultModelDir() {
  if (std::filesystem::is_directory(kDefaultModel)) return kDefaultModel;
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path beside_build = exe.parent_path() / "../.." / kDefaultModel;
    if (std::filesystem::is_directory(beside_build)) return beside_build.lexically_normal();
  }
  return kDefaultModel;  // reported as missing by the loader
}

}  // namespace

std::filesystem::path ModelDirFromFlags() {
  const std::string flag = absl::GetFlag(FLAGS_model);
  return flag.empty() ? DefaultModelDir() : std::filesystem::path(flag);
}

std::string DeviceFromFlags(const ModelConfig& config) { return ResolveDevice(absl::GetFlag(FLAGS_device), config); }

absl::StatusOr<LoadedModel> LoadModelFromFlags(int32_t num_slots, int64_t max_batch_tokens) {
  LoadModelOptions options;
  options.dir = ModelDirFromFlags();
  options.device = absl::GetFlag(FLAGS_device);
  options.num_slots = num_slots;
  options.state_dtype = absl::GetFlag(FLAGS_state_dtype);
  options.max_batch_tokens = max_batch_tokens;
  return LoadModel(options);
}

}  // namespace glaserve
