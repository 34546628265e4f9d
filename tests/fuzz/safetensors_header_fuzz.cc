// Fuzz target: a .safetensors file's bytes (8-byte header length, JSON header, data) as
// SafetensorsFile validates them. Whatever it accepts must view only bytes inside the
// file, with sizes that match shapes and dtypes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/safetensors_file.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  absl::StatusOr<std::map<std::string, glaserve::TensorView>> tensors =
      glaserve::SafetensorsFile::ParseTensors(file, "fuzz.safetensors");
  if (!tensors.ok()) return 0;
  for (const auto& [name, view] : *tensors) {
    FUZZ_CHECK(view.bytes.data() >= file.data());
    FUZZ_CHECK(view.bytes.data() + view.bytes.size() <= file.data() + file.size());
    FUZZ_CHECK(static_cast<uint64_t>(view.num_elements()) * glaserve::DTypeSize(view.dtype) == view.bytes.size());
    // Reading the tensor touches every byte of the view (ASan checks they are in bounds).
    if (view.num_elements() <= (1 << 16)) {
      std::vector<float> values(view.num_elements());
      view.CopyToFloat(values);
    }
  }
  return 0;
}
