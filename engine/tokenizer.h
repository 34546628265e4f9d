// A checkpoint's SentencePiece tokenizer: tokenizer.model, plus the add_bos_token flag of
// an optional tokenizer_config.json (read as Hugging Face's LlamaTokenizer reads it).
#ifndef GLASERVE_ENGINE_TOKENIZER_H_
#define GLASERVE_ENGINE_TOKENIZER_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace glaserve {

class SentencePieceProcessor;

// Immutable after Load, so one instance serves all threads.
class Tokenizer {
 public:
  // Reads `checkpoint_dir`/tokenizer.model: NOT_FOUND when it is absent (callers then serve
  // token ids only), INVALID_ARGUMENT naming the file when it or tokenizer_config.json is
  // malformed. The BOS and EOS ids come from the model's config.json: they are what the
  // model was trained with.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> Load(
      const std::filesystem::path& checkpoint_dir, int32_t bos_token_id, int32_t eos_token_id);
  ~Tokenizer();

  // The ids of `text`, led by bos_id() when add_bos().
  std::vector<int32_t> Encode(std::string_view text) const;
  std::vector<int32_t> EncodeWithoutBos(std::string_view text) const;

  // The text of `ids` read as a whole: the word-boundary space of the first piece is
  // dropped ("▁Hello" gives "Hello") and control ids (BOS, EOS) have no text. Ids outside
  // [0, vocab_size()) are skipped rather than failing: a model's embedding table is often
  // padded past the tokenizer's vocabulary, so a sampled id may have no piece, and the
  // response's ids stay valid even when such an id has no text.
  std::string Decode(std::span<const int32_t> ids) const;

  // The text `ids` add when they follow some non-empty text: as Decode, but the first
  // piece keeps its space ("▁world" gives " world"). For streaming.
  std::string DecodeContinuation(std::span<const int32_t> ids) const;

  // The piece of `id` ("▁world", "<0xE4>", "<s>"), or "" outside the vocabulary.
  std::string IdToPiece(int32_t id) const;
  // The byte a byte-fallback piece stands for ("<0xE4>" is 0xE4); nullopt for other ids.
  std::optional<uint8_t> ByteValue(int32_t id) const;
  // Whether `id` is a control piece such as BOS or EOS (no text, ends any byte sequence).
  bool IsControl(int32_t id) const;

  int32_t vocab_size() const { return vocab_size_; }
  bool add_bos() const { return add_bos_; }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }

 private:
  Tokenizer(std::unique_ptr<SentencePieceProcessor> processor, bool add_bos, int32_t bos_id,
            int32_t eos_id);
  bool InVocabulary(int32_t id) const { return id >= 0 && id < vocab_size_; }
  // Decodes the in-vocabulary ids of `ids` after `lead` (an id or -1 for none).
  std::string DecodeAfter(int32_t lead, std::span<const int32_t> ids) const;

  std::unique_ptr<SentencePieceProcessor> processor_;
  int32_t vocab_size_;
  bool add_bos_;
  int32_t bos_id_;
  int32_t eos_id_;
  // A piece that always has text, decoded in front of DecodeContinuation's ids so that
  // SentencePiece does not treat their first piece as the start of the text.
  int32_t lead_id_ = -1;
  std::string lead_text_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_TOKENIZER_H_
