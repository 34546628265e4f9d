// A memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header
// mapping tensor names to {dtype, shape, data_offsets}, then the raw tensor bytes.
// The header is validated in full when the file is opened, so a TensorView always points
// inside the mapping.
#ifndef GLASERVE_ENGINE_SAFETENSORS_FILE_H_
#define GLASERVE_ENGINE_SAFETENSORS_FILE_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace glaserve {

enum class DType { kF32, kF16, kBF16 };

const char* DTypeName(DType dtype);
size_t DTypeSize(DType dtype);

struct TensorView {
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;  // inside the file mapping

  int64_t num_elements() const;
  // Converts to fp32 (row-major, same element order).
  void CopyToFloat(std::span<float> out) const;
};

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates its header: valid JSON, supported dtypes, offsets
  // inside the file, sizes matching shapes.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::filesystem::path& path);
  // The validation Open does, on a whole file's bytes: the tensors, viewing into
  // `file_bytes`. `name` leads error messages. (Also the entry point of its fuzz target.)
  static absl::StatusOr<std::map<std::string, TensorView>> ParseTensors(std::span<const std::byte> file_bytes,
                                                                        const std::string& name);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SafetensorsFile() = default;

  std::filesystem::path path_;
  void* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SAFETENSORS_FILE_H_
