#include "engine/sentencepiece_processor.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/bpe_encoder.h"
#include "engine/sentencepiece_utf8.h"
#include "engine/unigram_encoder.h"

namespace glaserve {
namespace {

absl::Status WithContext(std::string_view context, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(std::string(context), status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SentencePieceProcessor>> SentencePieceProcessor::Create(
    SentencePieceModel model) {
  if (model.model_type != SentencePieceModelType::kBpe &&
      model.model_type != SentencePieceModelType::kUnigram) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer_spec.model_type=",
                     model.model_type == SentencePieceModelType::kWord ? "WORD" : "CHAR",
                     " is not supported (only BPE and UNIGRAM are)"));
  }
  absl::StatusOr<SentencePieceVocab> vocab =
      SentencePieceVocab::Create(std::move(model.pieces), model.byte_fallback);
  if (!vocab.ok()) return vocab.status();
  auto processor =
      std::unique_ptr<SentencePieceProcessor>(new SentencePieceProcessor(*std::move(vocab), model));

  absl::StatusOr<SentencePieceNormalizer> normalizer =
      SentencePieceNormalizer::Create(std::move(model.normalizer), model.treat_whitespace_as_suffix,
                                      &processor->vocab_.user_defined_symbols());
  if (!normalizer.ok()) return WithContext("normalizer_spec.", normalizer.status());
  processor->normalizer_.emplace(*std::move(normalizer));
  // As SentencePiece: a denormalizer without rules is none (its flags are ignored).
  if (model.denormalizer.has_value() && !model.denormalizer->precompiled_charsmap.empty()) {
    absl::StatusOr<SentencePieceNormalizer> denormalizer = SentencePieceNormalizer::Create(
        std::move(*model.denormalizer), /*treat_whitespace_as_suffix=*/false,
        /*user_defined_symbols=*/nullptr);
    if (!denormalizer.ok()) return WithContext("denormalizer_spec.", denormalizer.status());
    processor->denormalizer_.emplace(*std::move(denormalizer));
  }
  if (model.model_type == SentencePieceModelType::kBpe) {
    processor->encoder_ = std::make_unique<BpeEncoder>(processor->vocab_);
  } else {
    processor->encoder_ = std::make_unique<UnigramEncoder>(processor->vocab_);
  }
  return processor;
}

SentencePieceProcessor::SentencePieceProcessor(SentencePieceVocab vocab,
                                               const SentencePieceModel& model)
    : vocab_(std::move(vocab)),
      strip_leading_space_(model.normalizer.add_dummy_prefix ||
                           model.normalizer.remove_extra_whitespaces),
      remove_extra_whitespaces_(model.normalizer.remove_extra_whitespaces),
      unk_surface_(model.unk_surface) {
  decode_ids_.resize(vocab_.size());
  for (int32_t id = 0; id < vocab_.size(); ++id)
    decode_ids_[id] = vocab_.PieceToId(vocab_.piece(id));
}

std::vector<int32_t> SentencePieceProcessor::Encode(std::string_view text) const {
  const std::string normalized = normalizer_->Normalize(text);
  std::vector<int32_t> ids;
  ids.reserve(normalized.size() / 2);
  bool after_unknown = false;
  for (const EncodedPiece& piece : encoder_->Encode(normalized)) {
    const bool unknown = vocab_.Is(piece.id, PieceType::kUnknown);
    if (unknown && vocab_.byte_fallback()) {
      for (char byte : piece.text) ids.push_back(vocab_.byte_id(static_cast<uint8_t>(byte)));
    } else if (!(unknown && after_unknown)) {  // a run of unknown text is one <unk>
      ids.push_back(piece.id);
    }
    after_unknown = unknown;
  }
  return ids;
}

std::string SentencePieceProcessor::Decode(std::span<const int32_t> ids) const {
  std::string text;
  std::string bytes;  // of the current run of byte pieces
  // SentencePiece drops the leading "▁" of the first piece with text; with
  // remove_extra_whitespaces, of every piece until some text is out.
  bool at_start = true;
  bool dropped_space = false;
  for (int32_t id : ids) {
    id = decode_ids_[id];
    if (const std::optional<uint8_t> byte = vocab_.ByteValue(id)) {
      bytes.push_back(static_cast<char>(*byte));
      continue;
    }
    AppendBytes(bytes, &text);
    bytes.clear();
    if (dropped_space || !text.empty()) at_start = false;
    dropped_space = false;
    if (vocab_.Is(id, PieceType::kControl)) continue;
    if (vocab_.Is(id, PieceType::kUnknown)) {
      text += unk_surface_;
      continue;
    }
    std::string_view piece = vocab_.piece(id);
    if (at_start && strip_leading_space_ && piece.starts_with(kSpaceSymbol)) {
      piece.remove_prefix(kSpaceSymbol.size());
      dropped_space = !remove_extra_whitespaces_;
    }
    for (size_t pos = 0; pos < piece.size();) {
      const size_t space = piece.find(kSpaceSymbol, pos);
      text.append(piece.substr(pos, space - pos));
      if (space == std::string_view::npos) break;
      text.push_back(' ');
      pos = space + kSpaceSymbol.size();
    }
  }
  AppendBytes(bytes, &text);
  if (denormalizer_.has_value()) text = denormalizer_->Normalize(text);
  return text;
}

void SentencePieceProcessor::AppendBytes(std::string_view bytes, std::string* text) {
  while (!bytes.empty()) {
    const size_t length = ValidCharLength(bytes);
    text->append(length > 0 ? bytes.substr(0, length) : kReplacementCharacter);
    bytes.remove_prefix(std::max<size_t>(length, 1));
  }
}

}  // namespace glaserve
