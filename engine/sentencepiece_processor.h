// A SentencePiece model ready to use: text to ids as spm_encode does it (normalize,
// segment, unknown text to byte pieces or <unk>), ids to text as spm_decode does it.
#ifndef GLASERVE_ENGINE_SENTENCEPIECE_PROCESSOR_H_
#define GLASERVE_ENGINE_SENTENCEPIECE_PROCESSOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/sentencepiece_encoder.h"
#include "engine/sentencepiece_model.h"
#include "engine/sentencepiece_normalizer.h"
#include "engine/sentencepiece_vocab.h"

namespace glaserve {

class SentencePieceProcessor {
 public:
  // INVALID_ARGUMENT when the model is malformed or uses what we do not support (the WORD
  // and CHAR model types).
  static absl::StatusOr<std::unique_ptr<SentencePieceProcessor>> Create(SentencePieceModel model);
  SentencePieceProcessor(const SentencePieceProcessor&) = delete;
  SentencePieceProcessor& operator=(const SentencePieceProcessor&) = delete;

  std::vector<int32_t> Encode(std::string_view text) const;

  // The text of `ids`, each in [0, vocab().size()): "▁" is a space, and the first piece
  // loses its leading one; control pieces have no text and <unk> is unk_surface (" ⁇ ");
  // runs of byte pieces are UTF-8, each invalid byte becoming U+FFFD.
  std::string Decode(std::span<const int32_t> ids) const;

  const SentencePieceVocab& vocab() const { return vocab_; }

 private:
  SentencePieceProcessor(SentencePieceVocab vocab, const SentencePieceModel& model);
  // Appends `bytes` (the values of a run of byte pieces) as UTF-8 to `text`.
  static void AppendBytes(std::string_view bytes, std::string* text);

  // The normalizer and the encoder point into vocab_, so a processor never moves.
  SentencePieceVocab vocab_;
  std::optional<SentencePieceNormalizer> normalizer_;
  std::optional<SentencePieceNormalizer> denormalizer_;
  std::unique_ptr<SentencePieceEncoder> encoder_;
  // Decoding drops the first piece's leading space when the normalizer added or kept it.
  bool strip_leading_space_;
  bool remove_extra_whitespaces_;
  std::string unk_surface_;
  // SentencePiece decodes an id as the id its piece's text looks up to, which differs
  // when a normal piece has a control piece's text ("<s>"): then the control id.
  std::vector<int32_t> decode_ids_;  // [vocab_.size()]
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SENTENCEPIECE_PROCESSOR_H_
