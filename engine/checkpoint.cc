#include "engine/checkpoint.h"

#include <fstream>
#include <set>
#include <sstream>

#include "engine/check.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace glaserve {
namespace {

using Json = nlohmann::json;

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// Reads model.safetensors.index.json: the set of shard files and which tensor lives where.
absl::StatusOr<std::map<std::string, std::string>> ReadShardIndex(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  Json index = Json::parse(text.str(), nullptr, false);
  if (index.is_discarded() || !index.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " is not valid JSON"));
  }
  auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " has no \"weight_map\" object"));
  }
  std::map<std::string, std::string> result;
  for (const auto& [name, file] : weight_map->items()) {
    if (!file.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path.string(), ": weight_map[", name, "] is not a file name"));
    }
    std::string file_name = file.get<std::string>();
    // Shards must sit beside the index: refuse paths that would escape the directory.
    if (file_name.empty() || file_name.find('/') != std::string::npos || file_name == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(path.string(), ": weight_map[", name, "]=", file_name, " is not a file name"));
    }
    result[name] = file_name;
  }
  return result;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> ExpectedTensors(const ModelConfig& c) {
  const int64_t d = c.hidden_size, r = c.gate_low_rank_dim, i = c.intermediate_size;
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  expected.push_back({"model.embeddings.weight", {c.vocab_size, d}});
  for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const std::string p = absl::StrCat("model.layers.", layer, ".");
    expected.push_back({p + "attn_norm.weight", {d}});
    expected.push_back({p + "attn.q_proj.weight", {c.key_dim, d}});
    expected.push_back({p + "attn.k_proj.weight", {c.kv_key_dim(), d}});
    expected.push_back({p + "attn.v_proj.weight", {c.kv_value_dim(), d}});
    if (c.use_output_gate) expected.push_back({p + "attn.g_proj.weight", {c.value_dim, d}});
    expected.push_back({p + "attn.gk_proj.0.weight", {r, d}});
    expected.push_back({p + "attn.gk_proj.1.weight", {c.kv_key_dim(), r}});
    expected.push_back({p + "attn.gk_proj.1.bias", {c.kv_key_dim()}});
    expected.push_back({p + "attn.o_proj.weight", {d, c.value_dim}});
    expected.push_back({p + (c.output_norm_is_fused() ? "attn.g_norm_swish_gate.weight"
                                                       : "attn.g_norm.weight"),
                        {c.head_v_dim}});
    expected.push_back({p + "mlp_norm.weight", {d}});
    expected.push_back({p + "mlp.gate_proj.weight", {i, d}});
    expected.push_back({p + "mlp.up_proj.weight", {i, d}});
    expected.push_back({p + "mlp.down_proj.weight", {d, i}});
  }
  expected.push_back({"model.norm.weight", {d}});
  if (!c.tie_word_embeddings) expected.push_back({"lm_head.weight", {c.vocab_size, d}});
  return expected;
}

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) {
    return absl::NotFoundError(absl::StrCat("model directory ", dir.string(), " does not exist"));
  }
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  checkpoint->dir_ = dir;
  absl::StatusOr<ModelConfig> config = LoadModelConfig(dir);
  if (!config.ok()) return config.status();
  checkpoint->config_ = *config;
  if (absl::Status s = checkpoint->OpenFiles(); !s.ok()) return s;
  if (absl::Status s = checkpoint->Validate(); !s.ok()) return s;
  return checkpoint;
}

absl::Status Checkpoint::OpenFiles() {
  const std::filesystem::path single = dir_ / "model.safetensors";
  const std::filesystem::path index_path = dir_ / "model.safetensors.index.json";
  std::map<std::string, std::string> expected_file;  // tensor -> shard, from the index
  std::vector<std::string> file_names;
  if (std::filesystem::exists(single)) {
    file_names.push_back("model.safetensors");
  } else if (std::filesystem::exists(index_path)) {
    absl::StatusOr<std::map<std::string, std::string>> index = ReadShardIndex(index_path);
    if (!index.ok()) return index.status();
    expected_file = *std::move(index);
    std::set<std::string> unique;
    for (const auto& [name, file] : expected_file) unique.insert(file);
    file_names.assign(unique.begin(), unique.end());
  } else {
    return absl::NotFoundError(absl::StrCat("no model.safetensors or model.safetensors.index.json in ",
                                            dir_.string()));
  }
  for (const std::string& file_name : file_names) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(dir_ / file_name);
    if (!file.ok()) return file.status();
    for (const auto& [name, view] : (*file)->tensors()) {
      if (!expected_file.empty()) {
        auto it = expected_file.find(name);
        if (it == expected_file.end() || it->second != file_name) {
          return absl::InvalidArgumentError(absl::StrCat(
              (*file)->path().string(), ": tensor ", name, " is not mapped to this file by ",
              index_path.string()));
        }
      }
      if (!tensors_.emplace(name, &view).second) {
        return absl::InvalidArgumentError(absl::StrCat("tensor ", name, " is stored twice"));
      }
    }
    files_.push_back(*std::move(file));
  }
  for (const auto& [name, file] : expected_file) {
    if (!tensors_.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat(index_path.string(), " lists tensor ", name, " but ", file, " lacks it"));
    }
  }
  return absl::OkStatus();
}

absl::Status Checkpoint::Validate() {
  std::set<std::string> expected_names;
  for (const auto& [name, shape] : ExpectedTensors(config_)) {
    expected_names.insert(name);
    auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing tensor ", name, " (shape ", ShapeString(shape),
                       " expected from config.json) in ", dir_.string()));
    }
    if (it->second->shape != shape) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor ", name, " has shape ", ShapeString(it->second->shape),
                       " but config.json implies ", ShapeString(shape)));
    }
  }
  for (const auto& [name, view] : tensors_) {
    // A tied checkpoint may still carry lm_head.weight; it is ignored.
    if (expected_names.contains(name) || (name == "lm_head.weight" && config_.tie_word_embeddings)) {
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected tensor ", name, ": the checkpoint holds weights that this config "
                     "does not use (a different architecture?)"));
  }
  return absl::OkStatus();
}

std::string Checkpoint::name() const {
  std::filesystem::path normal = dir_.lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  return normal.filename().string();
}

DType Checkpoint::weight_dtype() const { return tensor("model.embeddings.weight").dtype; }

const TensorView& Checkpoint::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  CHECK(it != tensors_.end()) << "tensor " << name << " was not validated at load";
  return *it->second;
}

std::vector<float> Checkpoint::TensorAsFloat(const std::string& name) const {
  const TensorView& view = tensor(name);
  std::vector<float> values(view.num_elements());
  view.CopyToFloat(values);
  return values;
}

}  // namespace glaserve
