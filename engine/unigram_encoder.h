// SentencePiece's Unigram segmentation: the Viterbi path through the lattice of all
// vocabulary pieces in the text, maximizing the sum of piece scores (log probabilities).
// A character that starts no single-character piece gets the unknown piece, scored
// 10 below the lowest normal piece; a user-defined symbol scores its length times the
// highest normal score, less 0.1, so that it wins. Ties go to the piece that starts first.
#ifndef GLASERVE_ENGINE_UNIGRAM_ENCODER_H_
#define GLASERVE_ENGINE_UNIGRAM_ENCODER_H_

#include "engine/piece_trie.h"
#include "engine/sentencepiece_encoder.h"
#include "engine/sentencepiece_vocab.h"

namespace glaserve {

class UnigramEncoder final : public SentencePieceEncoder {
 public:
  // `vocab` must outlive the encoder.
  explicit UnigramEncoder(const SentencePieceVocab& vocab);

  std::vector<EncodedPiece> Encode(std::string_view normalized) const override;

 private:
  const SentencePieceVocab& vocab_;
  PieceTrie pieces_;  // normal, user-defined and unused pieces, valued by id
  // Over normal pieces. SentencePiece starts the maximum at FLT_MIN (the smallest
  // positive float) rather than the lowest, and so do we: it scales user-defined symbols.
  float min_score_;
  float max_score_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_UNIGRAM_ENCODER_H_
