// A fla-format GLA checkpoint directory (DESIGN.md section 1): config.json plus
// model.safetensors or shards listed in model.safetensors.index.json. Opening it checks
// every tensor's name and shape against the config; tensors stay memory-mapped until a
// runner converts them.
#ifndef GLASERVE_ENGINE_CHECKPOINT_H_
#define GLASERVE_ENGINE_CHECKPOINT_H_

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model_config.h"
#include "engine/safetensors_file.h"

namespace glaserve {

// The tensors a config requires, name -> shape, in the order the model uses them.
std::vector<std::pair<std::string, std::vector<int64_t>>> ExpectedTensors(const ModelConfig& config);

class Checkpoint {
 public:
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::filesystem::path& dir);

  const ModelConfig& config() const { return config_; }
  const std::filesystem::path& dir() const { return dir_; }
  // The directory's name, reported as the model name.
  std::string name() const;
  // The dtype most weights are stored in (what a user would call the checkpoint's dtype).
  DType weight_dtype() const;

  // A tensor validated at Open; asking for any other name is a bug.
  const TensorView& tensor(const std::string& name) const;
  // The tensor converted to fp32.
  std::vector<float> TensorAsFloat(const std::string& name) const;

 private:
  Checkpoint() = default;
  absl::Status OpenFiles();
  absl::Status Validate();

  std::filesystem::path dir_;
  ModelConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> tensors_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_CHECKPOINT_H_
