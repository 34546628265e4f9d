#include "engine/unigram_encoder.h"

#include <algorithm>
#include <cfloat>
#include <utility>

#include "engine/check.h"
#include "engine/sentencepiece_utf8.h"

namespace glaserve {
namespace {

constexpr float kUnknownPenalty = 10.0f;

PieceTrie BuildTrie(const SentencePieceVocab& vocab) {
  std::vector<std::pair<std::string_view, int32_t>> keys;
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (vocab.Is(id, PieceType::kNormal) || vocab.Is(id, PieceType::kUserDefined) ||
        vocab.Is(id, PieceType::kUnused)) {
      keys.emplace_back(vocab.piece(id), id);
    }
  }
  return PieceTrie(keys);
}

}  // namespace

UnigramEncoder::UnigramEncoder(const SentencePieceVocab& vocab)
    : vocab_(vocab), pieces_(BuildTrie(vocab)), min_score_(FLT_MAX), max_score_(FLT_MIN) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (!vocab.Is(id, PieceType::kNormal)) continue;
    min_score_ = std::min(min_score_, vocab.score(id));
    max_score_ = std::max(max_score_, vocab.score(id));
  }
}

std::vector<EncodedPiece> UnigramEncoder::Encode(std::string_view normalized) const {
  // The best path from the start to each byte position: its score and its last piece.
  struct BestPath {
    float score = 0;
    size_t last_begin = SIZE_MAX;  // SIZE_MAX: no path ends here yet
    int32_t last_id = -1;
  };
  const size_t size = normalized.size();
  std::vector<BestPath> best(size + 1);
  const float unknown_score = min_score_ - kUnknownPenalty;
  // The arithmetic mirrors SentencePiece's so that near-ties break the same way: piece
  // scores are summed in double and compared against the float total stored so far.
  for (size_t begin = 0; begin < size;) {
    const float score_here = best[begin].score;
    const size_t char_length = CharLength(normalized.substr(begin));
    bool has_single_char_piece = false;
    int32_t node = PieceTrie::kRoot;
    for (size_t end = begin; end < size;) {
      node = pieces_.Child(node, static_cast<uint8_t>(normalized[end++]));
      if (node == PieceTrie::kNoNode) break;
      const int32_t id = pieces_.value(node);
      if (id == PieceTrie::kNoValue || vocab_.Is(id, PieceType::kUnused)) continue;
      const size_t length = end - begin;
      const double score = vocab_.Is(id, PieceType::kUserDefined)
                               ? static_cast<float>(length) * max_score_ - 0.1
                               : vocab_.score(id);
      const double candidate = score + score_here;
      BestPath& path = best[end];
      if (path.last_begin == SIZE_MAX || candidate > path.score) {
        path = {static_cast<float>(candidate), begin, id};
      }
      has_single_char_piece |= length == char_length;
    }
    if (!has_single_char_piece) {
      const float candidate = unknown_score + score_here;
      BestPath& path = best[begin + char_length];
      if (path.last_begin == SIZE_MAX || candidate > path.score) {
        path = {candidate, begin, vocab_.unk_id()};
      }
    }
    begin += char_length;
  }

  std::vector<EncodedPiece> pieces;
  for (size_t end = size; end > 0;) {
    const BestPath& path = best[end];
    // Every character boundary is reached (by a piece or the unknown piece), and paths
    // are followed back from boundaries only.
    CHECK_LT(path.last_begin, end) << "no path to byte " << end;
    pieces.push_back({normalized.substr(path.last_begin, end - path.last_begin), path.last_id});
    end = path.last_begin;
  }
  std::reverse(pieces.begin(), pieces.end());
  return pieces;
}

}  // namespace glaserve
