// Fuzz target: the trained model's tokenizer on arbitrary bytes. The input is encoded as
// text, and also read as token ids (2 bytes each, some outside the vocabulary) that are
// decoded whole and streamed through a StreamDetokenizer, which must give exactly what
// whole decoding adds to the context (its documented contract) whenever the context ends
// on a character boundary.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/strings/match.h"
#include "engine/stream_detokenizer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const glaserve::Tokenizer& tokenizer = glaserve::fuzz::BrownTokenizer();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> encoded = tokenizer.Encode(text);
  for (int32_t id : encoded) FUZZ_CHECK(id >= 0 && id < tokenizer.vocab_size());
  tokenizer.EncodeWithoutBos(text);
  tokenizer.Decode(encoded);

  // Ids: [-16, vocab + 16), the first byte picks how many lead as context.
  if (size < 1) return 0;
  std::vector<int32_t> ids;
  for (size_t i = 1; i + 1 < size; i += 2) {
    const int32_t raw = data[i] | (data[i + 1] << 8);
    ids.push_back(raw % (tokenizer.vocab_size() + 32) - 16);
  }
  const size_t num_context = std::min<size_t>(data[0] % 16, ids.size());
  const std::span<const int32_t> context(ids.data(), num_context);
  const std::span<const int32_t> generated(ids.data() + num_context, ids.size() - num_context);
  const std::string whole = tokenizer.Decode(ids);
  tokenizer.DecodeContinuation(ids);
  for (int32_t id : ids) {
    tokenizer.IdToPiece(id);
    tokenizer.ByteValue(id);
    tokenizer.IsControl(id);
  }
  glaserve::StreamDetokenizer detokenizer(tokenizer, context);
  std::string streamed;
  for (int32_t id : generated) streamed += detokenizer.Append(id);
  streamed += detokenizer.Flush();

  // The contract holds for a context that ends on a character boundary: its last id in
  // the vocabulary is not a byte piece (or it has none).
  bool boundary = true;
  for (auto it = context.rbegin(); it != context.rend(); ++it) {
    if (*it < 0 || *it >= tokenizer.vocab_size()) continue;
    boundary = !tokenizer.ByteValue(*it).has_value();
    break;
  }
  const std::string context_text = tokenizer.Decode(context);
  if (boundary) {
    FUZZ_CHECK(absl::StartsWith(whole, context_text));
    FUZZ_CHECK(streamed == whole.substr(context_text.size()));
  }
  return 0;
}
