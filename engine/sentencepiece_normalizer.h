// SentencePiece's normalization of text before encoding (and of decoded text, for a
// model with a denormalizer): the precompiled charsmap's rewrite rules (nmt_nfkc and the
// like), then whitespace handling and "▁" for spaces.
#ifndef GLASERVE_ENGINE_SENTENCEPIECE_NORMALIZER_H_
#define GLASERVE_ENGINE_SENTENCEPIECE_NORMALIZER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "engine/piece_trie.h"
#include "engine/sentencepiece_model.h"

namespace glaserve {

class SentencePieceNormalizer {
 public:
  // `user_defined_symbols`, when given, are copied through as they are; the trie must
  // outlive the normalizer. INVALID_ARGUMENT when the charsmap is malformed.
  static absl::StatusOr<SentencePieceNormalizer> Create(SentencePieceNormalizerSpec spec,
                                                        bool treat_whitespace_as_suffix,
                                                        const PieceTrie* user_defined_symbols);

  std::string Normalize(std::string_view text) const;

 private:
  SentencePieceNormalizer() = default;

  // The normalized form of the longest user-defined symbol, rule or character that `text`
  // (non-empty) starts with, and how many bytes of `text` it stands for.
  std::pair<std::string_view, size_t> NormalizePrefix(std::string_view text) const;
  // The longest rule whose source `text` starts with: (source length, target offset in
  // the charsmap), or length 0 when none.
  std::pair<size_t, size_t> LongestRule(std::string_view text) const;
  // Unit `index` of the rules' double array (darts-clone layout), little-endian.
  uint32_t Unit(uint32_t index) const;

  SentencePieceNormalizerSpec spec_;
  bool treat_whitespace_as_suffix_ = false;
  const PieceTrie* user_defined_symbols_ = nullptr;
  // spec_.precompiled_charsmap is <trie size: u32><double array: u32 units><targets: NUL-
  // terminated strings>; a rule's value is the offset of its target in the last part.
  uint32_t num_units_ = 0;
  size_t targets_begin_ = 0;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SENTENCEPIECE_NORMALIZER_H_
