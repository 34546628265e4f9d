// The parts of a SentencePiece tokenizer.model (a serialized `sentencepiece.ModelProto`,
// see sentencepiece_model.proto) that encoding and decoding need. Read with a small
// protobuf wire-format reader, so glaserve links no second copy of protobuf.
#ifndef GLASERVE_ENGINE_SENTENCEPIECE_MODEL_H_
#define GLASERVE_ENGINE_SENTENCEPIECE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace glaserve {

// Values as in ModelProto.SentencePiece.Type.
enum class PieceType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Values as in TrainerSpec.ModelType.
enum class SentencePieceModelType : uint8_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

// NormalizerSpec; the defaults are the proto's.
struct SentencePieceNormalizerSpec {
  std::string name;
  // A darts-clone double array over the rule sources, then the NUL-terminated targets.
  std::string precompiled_charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

struct SentencePieceModel {
  struct Piece {
    std::string text;  // "▁the", "<0xE4>", "<s>"
    float score = 0;
    PieceType type = PieceType::kNormal;
  };
  std::vector<Piece> pieces;  // indexed by id
  // TrainerSpec fields read at run time.
  SentencePieceModelType model_type = SentencePieceModelType::kUnigram;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  std::string unk_surface = " \xE2\x81\x87 ";  // " ⁇ ", the text of <unk>
  SentencePieceNormalizerSpec normalizer;
  std::optional<SentencePieceNormalizerSpec> denormalizer;
};

// Parses a serialized ModelProto. INVALID_ARGUMENT (saying what and at which byte) when it
// is truncated or malformed; fields this reader does not need are skipped. It checks the
// wire format only: SentencePieceVocab checks that the pieces make sense.
absl::StatusOr<SentencePieceModel> ParseSentencePieceModel(std::string_view serialized);

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SENTENCEPIECE_MODEL_H_
