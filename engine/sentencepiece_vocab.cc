#include "engine/sentencepiece_vocab.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace glaserve {
namespace {

// The byte of a piece spelled as SentencePiece spells byte pieces, "<0x%02X>"; -1 otherwise.
int ParseBytePiece(std::string_view text) {
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const size_t high = kDigits.find(text[3]);
  const size_t low = kDigits.find(text[4]);
  if (high == std::string_view::npos || low == std::string_view::npos) return -1;
  return static_cast<int>(high * 16 + low);
}

std::string Describe(int32_t id, std::string_view text) {
  constexpr size_t kMaxShown = 40;
  return absl::StrCat(
      "piece ", id, " \"",
      absl::CEscape(absl::string_view(text.data(), std::min(text.size(), kMaxShown))),
      text.size() > kMaxShown ? "...\"" : "\"");
}

}  // namespace

absl::StatusOr<SentencePieceVocab> SentencePieceVocab::Create(
    std::vector<SentencePieceModel::Piece> pieces, bool byte_fallback) {
  SentencePieceVocab vocab;
  vocab.pieces_ = std::move(pieces);
  vocab.byte_fallback_ = byte_fallback;
  vocab.byte_ids_.assign(256, -1);
  vocab.byte_values_.assign(vocab.pieces_.size(), 0);
  std::vector<std::pair<std::string_view, int32_t>> user_defined;
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const SentencePieceModel::Piece& piece = vocab.pieces_[id];
    if (piece.text.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("piece ", id, " is empty"));
    }
    if (std::isnan(piece.score)) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(id, piece.text), " has a NaN score"));
    }
    const bool is_text = piece.type == PieceType::kNormal ||
                         piece.type == PieceType::kUserDefined || piece.type == PieceType::kUnused;
    auto& ids = is_text ? vocab.text_ids_ : vocab.reserved_ids_;
    if (!ids.try_emplace(piece.text, id).second) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(id, piece.text), " is repeated"));
    }
    switch (piece.type) {
      case PieceType::kUserDefined:
        user_defined.emplace_back(piece.text, id);
        break;
      case PieceType::kUnknown:
        if (vocab.unk_id_ >= 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(Describe(id, piece.text), " is a second unknown piece"));
        }
        vocab.unk_id_ = id;
        break;
      case PieceType::kByte: {
        const int byte = ParseBytePiece(piece.text);
        if (!byte_fallback) {
          return absl::InvalidArgumentError(
              absl::StrCat(Describe(id, piece.text),
                           " is a byte piece but trainer_spec.byte_fallback is false"));
        }
        if (byte < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(Describe(id, piece.text), " is a byte piece not spelled <0xXX>"));
        }
        vocab.byte_ids_[byte] = id;
        vocab.byte_values_[id] = static_cast<uint8_t>(byte);
        break;
      }
      default:
        break;
    }
  }
  if (vocab.unk_id_ < 0) return absl::InvalidArgumentError("no piece has type UNKNOWN");
  if (byte_fallback) {
    for (int byte = 0; byte < 256; ++byte) {
      if (vocab.byte_ids_[byte] < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("trainer_spec.byte_fallback is true but there is no byte piece for 0x",
                         absl::Hex(byte)));
      }
    }
  }
  vocab.user_defined_symbols_ = PieceTrie(user_defined);
  return vocab;
}

int32_t SentencePieceVocab::FindTextPiece(std::string_view text) const {
  const auto it = text_ids_.find(absl::string_view(text.data(), text.size()));
  return it == text_ids_.end() ? -1 : it->second;
}

int32_t SentencePieceVocab::PieceToId(std::string_view text) const {
  const auto it = reserved_ids_.find(absl::string_view(text.data(), text.size()));
  if (it != reserved_ids_.end()) return it->second;
  const int32_t id = FindTextPiece(text);
  return id >= 0 ? id : unk_id_;
}

}  // namespace glaserve
