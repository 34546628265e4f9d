// The pieces of a SentencePiece model, indexed for encoding and decoding, after the checks
// SentencePiece makes when it loads them.
#ifndef GLASERVE_ENGINE_SENTENCEPIECE_VOCAB_H_
#define GLASERVE_ENGINE_SENTENCEPIECE_VOCAB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/piece_trie.h"
#include "engine/sentencepiece_model.h"

namespace glaserve {

class SentencePieceVocab {
 public:
  // INVALID_ARGUMENT, naming the piece, when the pieces break SentencePiece's rules: an
  // empty or repeated piece, no <unk> or two, byte pieces without byte_fallback (or not
  // all 256 of them with it), a NaN score.
  static absl::StatusOr<SentencePieceVocab> Create(std::vector<SentencePieceModel::Piece> pieces,
                                                   bool byte_fallback);

  int32_t size() const { return static_cast<int32_t>(pieces_.size()); }
  const std::string& piece(int32_t id) const { return pieces_[id].text; }
  float score(int32_t id) const { return pieces_[id].score; }
  PieceType type(int32_t id) const { return pieces_[id].type; }
  bool Is(int32_t id, PieceType type) const { return pieces_[id].type == type; }

  int32_t unk_id() const { return unk_id_; }
  bool byte_fallback() const { return byte_fallback_; }
  // The id of the piece "<0xXX>" of `byte`; only with byte_fallback().
  int32_t byte_id(uint8_t byte) const { return byte_ids_[byte]; }
  // The byte of a byte piece; nullopt for other ids.
  std::optional<uint8_t> ByteValue(int32_t id) const {
    if (!Is(id, PieceType::kByte)) return std::nullopt;
    return byte_values_[id];
  }

  // The id of a piece that text can encode to (normal, user-defined or unused), or -1.
  int32_t FindTextPiece(std::string_view text) const;
  // SentencePiece's PieceToId: control, unknown and byte pieces first, then text pieces,
  // and unk_id() for any other string.
  int32_t PieceToId(std::string_view text) const;

  // The user-defined pieces, whose text is never normalized or split.
  const PieceTrie& user_defined_symbols() const { return user_defined_symbols_; }

 private:
  SentencePieceVocab() = default;

  std::vector<SentencePieceModel::Piece> pieces_;  // indexed by id
  bool byte_fallback_ = false;
  int32_t unk_id_ = -1;
  // SentencePiece keeps two maps; a string may be in both (a control "<s>" and a normal
  // "<s>"), and PieceToId looks in reserved_ids_ first.
  absl::flat_hash_map<std::string, int32_t> text_ids_;      // normal, user-defined, unused
  absl::flat_hash_map<std::string, int32_t> reserved_ids_;  // unknown, control, byte
  std::vector<int32_t> byte_ids_;                           // [256], with byte_fallback
  std::vector<uint8_t> byte_values_;                        // [size()], of byte pieces
  PieceTrie user_defined_symbols_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SENTENCEPIECE_VOCAB_H_
