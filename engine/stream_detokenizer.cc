#include "engine/stream_detokenizer.h"

#include <algorithm>
#include <optional>

namespace glaserve {
namespace {

// The length of the UTF-8 sequence that `lead` starts, as SentencePiece's decoder reads
// it; 1 for bytes that cannot start a longer one.
size_t Utf8Length(uint8_t lead) {
  if (lead >= 0xC0 && lead < 0xE0) return 2;
  if (lead >= 0xE0 && lead < 0xF0) return 3;
  if (lead >= 0xF0 && lead < 0xF8) return 4;
  return 1;
}

// How many ids at the end of `ids` form a character that more bytes could still complete:
// a lead byte and fewer continuation bytes than it announces (so at most 3). Everything
// before them decodes the same whatever follows, since a lead byte always starts a new
// character (or a U+FFFD) in SentencePiece's decoder.
size_t NumPendingIds(const Tokenizer& tokenizer, std::span<const int32_t> ids) {
  for (size_t n = 1; n <= std::min<size_t>(3, ids.size()); ++n) {
    const std::optional<uint8_t> byte = tokenizer.ByteValue(ids[ids.size() - n]);
    if (!byte.has_value()) return 0;       // a text piece ends any byte sequence
    if ((*byte & 0xC0) == 0x80) continue;  // a continuation byte: its lead is further back
    return Utf8Length(*byte) > n ? n : 0;
  }
  return 0;
}

}  // namespace

StreamDetokenizer::StreamDetokenizer(const Tokenizer& tokenizer,
                                     std::span<const int32_t> context_ids)
    : tokenizer_(tokenizer) {
  // The last few ids nearly always have text; decoding the whole prompt is the fallback.
  has_text_ =
      !tokenizer_.Decode(context_ids.last(std::min<size_t>(8, context_ids.size()))).empty() ||
      !tokenizer_.Decode(context_ids).empty();
  if (has_text_) return;
  for (int32_t id : context_ids) {
    if (!tokenizer_.IsControl(id)) textless_ids_.push_back(id);
  }
}

std::string StreamDetokenizer::Append(int32_t token_id) {
  // Tokenizer::Decode skips ids outside the vocabulary; so does the stream.
  if (token_id < 0 || token_id >= tokenizer_.vocab_size()) return "";
  pending_ids_.push_back(token_id);
  const size_t num_pending = NumPendingIds(tokenizer_, pending_ids_);
  if (num_pending == pending_ids_.size()) return "";
  const auto ready_end = pending_ids_.end() - num_pending;
  const std::vector<int32_t> ready(pending_ids_.begin(), ready_end);
  pending_ids_.erase(pending_ids_.begin(), ready_end);
  return Release(ready);
}

std::string StreamDetokenizer::Flush() {
  std::string text = Release(pending_ids_);
  pending_ids_.clear();
  return text;
}

std::string StreamDetokenizer::Release(std::span<const int32_t> ids) {
  if (has_text_) return tokenizer_.DecodeContinuation(ids);
  for (int32_t id : ids) {
    if (!tokenizer_.IsControl(id)) textless_ids_.push_back(id);
  }
  std::string text = tokenizer_.Decode(textless_ids_);
  if (!text.empty()) {
    has_text_ = true;
    textless_ids_ = {};
  }
  return text;
}

}  // namespace glaserve
