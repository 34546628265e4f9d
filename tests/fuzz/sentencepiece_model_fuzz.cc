// Fuzz target: tokenizer.model bytes (a serialized sentencepiece ModelProto) through our
// own wire-format reader and processor. A model that loads must then encode and decode
// text without faults, giving ids inside its vocabulary.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/sentencepiece_model.h"
#include "engine/sentencepiece_processor.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<glaserve::SentencePieceModel> model =
      glaserve::ParseSentencePieceModel(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!model.ok()) return 0;
  absl::StatusOr<std::unique_ptr<glaserve::SentencePieceProcessor>> processor =
      glaserve::SentencePieceProcessor::Create(*std::move(model));
  if (!processor.ok()) return 0;
  const int32_t vocab_size = static_cast<int32_t>((*processor)->vocab().size());
  for (std::string_view text : {"Hello world", " two  spaces\tand\nlines ", "Café 鱼 🦀 \xff\xfe", ""}) {
    const std::vector<int32_t> ids = (*processor)->Encode(text);
    for (int32_t id : ids) FUZZ_CHECK(id >= 0 && id < vocab_size);
    (*processor)->Decode(ids);
  }
  std::vector<int32_t> all_ids(std::min(vocab_size, 512));
  for (int32_t i = 0; i < static_cast<int32_t>(all_ids.size()); ++i) all_ids[i] = i;
  (*processor)->Decode(all_ids);
  return 0;
}
