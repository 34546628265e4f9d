// Turns generated ids into text as they arrive, so that a streamed response reads exactly
// like decoding the whole sequence at once.
//
// Two things keep SentencePiece text from being a concatenation of per-token texts: the
// word-boundary space of the first piece is dropped only at the very start of the text,
// and a character outside the vocabulary comes as byte pieces ("<0xE4><0xB8><0xAD>" is 中)
// that are only text together. So ids are released in small windows, each ending where no
// character is half done (at most 3 byte ids wait), and a window that follows text is
// decoded with Tokenizer::DecodeContinuation, which keeps its first space. Unlike vLLM's
// look-back of a few real tokens, this needs no prefix text that could be empty, and once
// there is text each Append decodes at most 4 ids (plus the lead piece), whatever the
// sequence length.
#ifndef GLASERVE_ENGINE_STREAM_DETOKENIZER_H_
#define GLASERVE_ENGINE_STREAM_DETOKENIZER_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/tokenizer.h"

namespace glaserve {

// One per sequence; not thread-safe. `tokenizer` must outlive it.
class StreamDetokenizer {
 public:
  // `context_ids` are the ids the generated ones follow (the prompt; may be empty). The
  // streamed text is what decoding context + generated adds to decoding the context alone.
  // A context that ends inside a character is taken as it decodes (U+FFFD).
  StreamDetokenizer(const Tokenizer& tokenizer, std::span<const int32_t> context_ids);

  // The text that `token_id` completes; "" while it leaves a character half done.
  std::string Append(int32_t token_id);

  // What is still held back, at the end of the stream (a half-done character as U+FFFD).
  std::string Flush();

 private:
  // Decodes ids that end at a character boundary, following everything released before.
  std::string Release(std::span<const int32_t> ids);

  const Tokenizer& tokenizer_;
  // Whether the text so far is non-empty. Until it is, SentencePiece may still drop a
  // leading space, so released ids are kept in `textless_ids_` and decoded again from the
  // start. Control ids are left out: they only end byte sequences, and none is open yet.
  bool has_text_ = false;
  std::vector<int32_t> textless_ids_;
  // Ids of the character still half done: a lead byte and its continuation bytes so far.
  std::vector<int32_t> pending_ids_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_STREAM_DETOKENIZER_H_
