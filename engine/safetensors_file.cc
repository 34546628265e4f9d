#include "engine/safetensors_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/check.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/cpu/half_convert.h"
#include "nlohmann/json.hpp"

namespace glaserve {
namespace {

using Json = nlohmann::json;

// Real headers are a few hundred KB at most; the bound stops a corrupt length field from
// making us parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100 << 20;

absl::StatusOr<DType> ParseDType(const std::string& name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  return absl::InvalidArgumentError(
      absl::StrCat("dtype ", name, " is not supported (allowed: BF16, F16, F32)"));
}

absl::StatusOr<TensorView> ParseTensorEntry(const Json& entry, std::span<const std::byte> data) {
  if (!entry.is_object()) return absl::InvalidArgumentError("entry is not an object");
  auto dtype_it = entry.find("dtype");
  auto shape_it = entry.find("shape");
  auto offsets_it = entry.find("data_offsets");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return absl::InvalidArgumentError("missing or non-string \"dtype\"");
  }
  absl::StatusOr<DType> dtype = ParseDType(dtype_it->get<std::string>());
  if (!dtype.ok()) return dtype.status();
  if (shape_it == entry.end() || !shape_it->is_array()) {
    return absl::InvalidArgumentError("missing or non-array \"shape\"");
  }
  TensorView view{*dtype, {}, {}};
  uint64_t num_elements = 1;
  for (const Json& dim : *shape_it) {
    if (!dim.is_number_unsigned()) return absl::InvalidArgumentError("shape has a bad dimension");
    uint64_t d = dim.get<uint64_t>();
    // Overflow can only come from a corrupt header; the size check below needs exact math.
    if (__builtin_mul_overflow(num_elements, d, &num_elements) || num_elements > (1ull << 48)) {
      return absl::InvalidArgumentError(absl::StrCat("shape ", shape_it->dump(), " is too large"));
    }
    view.shape.push_back(static_cast<int64_t>(d));
  }
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    return absl::InvalidArgumentError("\"data_offsets\" is not a pair of offsets");
  }
  uint64_t begin = (*offsets_it)[0].get<uint64_t>();
  uint64_t end = (*offsets_it)[1].get<uint64_t>();
  if (begin > end || end > data.size()) {
    return absl::InvalidArgumentError(absl::StrCat("data_offsets [", begin, ", ", end,
                                                   "] point outside the data section of ",
                                                   data.size(), " bytes"));
  }
  if (end - begin != num_elements * DTypeSize(*dtype)) {
    return absl::InvalidArgumentError(absl::StrCat("holds ", end - begin, " bytes but its shape ",
                                                   shape_it->dump(), " needs ",
                                                   num_elements * DTypeSize(*dtype)));
  }
  view.bytes = data.subspan(begin, end - begin);
  return view;
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
  }
  return "?";
}

size_t DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

int64_t TensorView::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void TensorView::CopyToFloat(std::span<float> out) const {
  CHECK_EQ(static_cast<int64_t>(out.size()), num_elements()) << "CopyToFloat: size mismatch";
  if (out.empty()) return;  // memcpy must not see the null data of an empty span
  // Copy through memcpy: the mapping gives no alignment guarantee for tensor data.
  switch (dtype) {
    case DType::kF32:
      std::memcpy(out.data(), bytes.data(), bytes.size());
      break;
    case DType::kF16:
    case DType::kBF16: {
      const bool bf16 = dtype == DType::kBF16;
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t bits;
        std::memcpy(&bits, bytes.data() + 2 * i, 2);
        out[i] = bf16 ? kernels::Bf16ToFloat(bits) : kernels::F16ToFloat(bits);
      }
      break;
    }
  }
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", name, ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a regular file"));
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": truncated (", file_size, " bytes, no header length)"));
  }
  void* mapping = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) {
    return absl::InternalError(absl::StrCat("cannot mmap ", name, ": ", std::strerror(errno)));
  }
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = mapping;
  file->mapping_size_ = file_size;
  absl::StatusOr<std::map<std::string, TensorView>> tensors =
      ParseTensors(std::span<const std::byte>(static_cast<const std::byte*>(mapping), file_size), name);
  if (!tensors.ok()) return tensors.status();
  file->tensors_ = *std::move(tensors);
  return file;
}

absl::StatusOr<std::map<std::string, TensorView>> SafetensorsFile::ParseTensors(
    std::span<const std::byte> file_bytes, const std::string& name) {
  const uint64_t file_size = file_bytes.size();
  if (file_size < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": truncated (", file_size, " bytes, no header length)"));
  }
  const std::byte* base = file_bytes.data();
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<uint8_t>(base[i]);
  if (header_size > kMaxHeaderBytes || header_size > file_size - 8) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": header length ", header_size,
                                                   " points outside the file of ", file_size,
                                                   " bytes (truncated or corrupt)"));
  }
  const char* header_text = reinterpret_cast<const char*>(base + 8);
  Json header = Json::parse(header_text, header_text + header_size, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": header is not a valid JSON object"));
  }
  std::span<const std::byte> data(base + 8 + header_size, file_size - 8 - header_size);
  std::map<std::string, TensorView> tensors;
  for (const auto& [tensor_name, entry] : header.items()) {
    if (tensor_name == "__metadata__") continue;
    absl::StatusOr<TensorView> view = ParseTensorEntry(entry, data);
    if (!view.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": tensor ", tensor_name, ": ", view.status().message()));
    }
    tensors.emplace(tensor_name, *std::move(view));
  }
  return tensors;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

}  // namespace glaserve
