// SentencePiece's BPE segmentation. The text starts as characters (a user-defined symbol
// is one symbol that never merges); then the adjacent pair whose concatenation is the
// highest-scoring piece merges, the leftmost on ties, until no pair is a piece. Pairs wait
// in a priority queue and only the neighbours of a merge are looked up again, so a text
// of n characters takes O(n log n).
#ifndef GLASERVE_ENGINE_BPE_ENCODER_H_
#define GLASERVE_ENGINE_BPE_ENCODER_H_

#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "engine/sentencepiece_encoder.h"
#include "engine/sentencepiece_vocab.h"

namespace glaserve {

class BpeEncoder final : public SentencePieceEncoder {
 public:
  // `vocab` must outlive the encoder.
  explicit BpeEncoder(const SentencePieceVocab& vocab);

  std::vector<EncodedPiece> Encode(std::string_view normalized) const override;

 private:
  const SentencePieceVocab& vocab_;
  // The pairs of characters that stand side by side in some piece, each character packed
  // in 32 bits. No merge crosses two characters that are not such a pair, so the text
  // splits there into parts (mostly words) merged one at a time: the same merges in the
  // same order within each part, with a queue that stays small and in cache.
  absl::flat_hash_set<uint64_t> joined_chars_;
  // SentencePiece splits an unused piece back the way the last merge into it queued
  // anywhere in the text did; with unused pieces the text is merged as one part.
  bool has_unused_pieces_ = false;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_BPE_ENCODER_H_
