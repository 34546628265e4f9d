// The segmentation step of a SentencePiece model: normalized text ("▁Hello▁world") to
// vocabulary pieces. One implementation per model type: BpeEncoder, UnigramEncoder.
#ifndef GLASERVE_ENGINE_SENTENCEPIECE_ENCODER_H_
#define GLASERVE_ENGINE_SENTENCEPIECE_ENCODER_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace glaserve {

struct EncodedPiece {
  std::string_view text;  // inside the normalized text
  int32_t id;             // the unknown piece's id for text the vocabulary lacks
};

class SentencePieceEncoder {
 public:
  virtual ~SentencePieceEncoder() = default;
  // The pieces of `normalized`, in order; their texts concatenate to it.
  virtual std::vector<EncodedPiece> Encode(std::string_view normalized) const = 0;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SENTENCEPIECE_ENCODER_H_
