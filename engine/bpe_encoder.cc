#include "engine/bpe_encoder.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "engine/check.h"
#include "engine/sentencepiece_utf8.h"

namespace glaserve {
namespace {

// A symbol of the text being merged: a doubly linked list over the original characters,
// in which a merged-away symbol is left empty.
struct Symbol {
  int32_t prev;  // -1 at the start
  int32_t next;  // -1 at the end
  uint32_t begin;
  uint32_t size;
  bool frozen;  // a user-defined symbol
};

// Two adjacent symbols whose concatenation is the piece of `score` and `size` bytes.
struct Merge {
  float score;
  int32_t left;
  int32_t right;
  uint32_t size;
};

// Orders the heap: the highest score on top, then the leftmost.
bool MergeIsWorse(const Merge& a, const Merge& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

// A character (at most 4 bytes) as a number; distinct characters may collide only in
// ways that join more, which is safe.
uint64_t CharCode(std::string_view c) {
  uint64_t code = 0;
  for (char byte : c) code = code << 8 | static_cast<uint8_t>(byte);
  return code;
}

uint64_t PairCode(std::string_view left, std::string_view right) {
  return CharCode(left) << 32 | CharCode(right);
}

absl::string_view ToAbsl(std::string_view text) { return {text.data(), text.size()}; }

}  // namespace

BpeEncoder::BpeEncoder(const SentencePieceVocab& vocab) : vocab_(vocab) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (!vocab.Is(id, PieceType::kNormal) && !vocab.Is(id, PieceType::kUserDefined) &&
        !vocab.Is(id, PieceType::kUnused)) {
      continue;
    }
    has_unused_pieces_ |= vocab.Is(id, PieceType::kUnused);
    std::string_view piece = vocab.piece(id);
    std::string_view prev = piece.substr(0, CharLength(piece));
    for (piece.remove_prefix(prev.size()); !piece.empty(); piece.remove_prefix(prev.size())) {
      const std::string_view c = piece.substr(0, CharLength(piece));
      joined_chars_.insert(PairCode(prev, c));
      prev = c;
    }
  }
}

std::vector<EncodedPiece> BpeEncoder::Encode(std::string_view normalized) const {
  if (normalized.empty()) return {};
  // gRPC caps a request at 2 GiB, and normalization at most triples most text.
  CHECK_LT(normalized.size(), static_cast<size_t>(INT32_MAX)) << "text too long for BPE";

  std::vector<Symbol> symbols;
  symbols.reserve(normalized.size());
  const PieceTrie& user_defined = vocab_.user_defined_symbols();
  for (size_t begin = 0; begin < normalized.size();) {
    const std::string_view rest = normalized.substr(begin);
    const size_t symbol_size = user_defined.LongestPrefix(rest);
    const bool frozen = symbol_size > 0;
    const size_t size = frozen ? symbol_size : CharLength(rest);
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({index - 1, begin + size < normalized.size() ? index + 1 : -1,
                       static_cast<uint32_t>(begin), static_cast<uint32_t>(size), frozen});
    begin += size;
  }
  const int32_t num_symbols = static_cast<int32_t>(symbols.size());
  auto text = [&](const Symbol& symbol) { return normalized.substr(symbol.begin, symbol.size); };

  std::vector<Merge> heap;
  // Unused pieces may be merged through but never output: each splits back into the two
  // symbols it was last seen to merge from (SentencePiece's rule).
  absl::flat_hash_map<absl::string_view, std::pair<std::string_view, std::string_view>> splits;
  int32_t part_begin = 0;
  int32_t part_end = 0;
  auto maybe_add_merge = [&](int32_t left, int32_t right) {
    if (left < part_begin || right < 0 || right >= part_end) return;
    if (symbols[left].frozen || symbols[right].frozen) return;
    const uint32_t size = symbols[left].size + symbols[right].size;
    const std::string_view merged = normalized.substr(symbols[left].begin, size);
    const int32_t id = vocab_.FindTextPiece(merged);
    if (id < 0) return;
    heap.push_back({vocab_.score(id), left, right, size});
    std::push_heap(heap.begin(), heap.end(), MergeIsWorse);
    if (vocab_.Is(id, PieceType::kUnused)) {
      splits[ToAbsl(merged)] = {text(symbols[left]), text(symbols[right])};
    }
  };
  auto merge_part = [&] {
    for (int32_t i = part_begin + 1; i < part_end; ++i) maybe_add_merge(i - 1, i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), MergeIsWorse);
      const Merge merge = heap.back();
      heap.pop_back();
      Symbol& left = symbols[merge.left];
      Symbol& right = symbols[merge.right];
      // Stale: a side was merged away or grew since the merge was queued (sizes only
      // grow, so equal sizes mean both sides are unchanged and still adjacent).
      if (left.size == 0 || right.size == 0 || left.size + right.size != merge.size) continue;
      left.size = merge.size;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = merge.left;
      right.size = 0;
      maybe_add_merge(left.prev, merge.left);
      maybe_add_merge(merge.left, left.next);
    }
  };

  std::vector<EncodedPiece> pieces;
  std::vector<std::string_view> pending;  // a stack, for splitting unused pieces
  auto output_part = [&] {
    for (int32_t i = part_begin; i >= 0 && i < part_end; i = symbols[i].next) {
      pending.push_back(text(symbols[i]));
      while (!pending.empty()) {
        const std::string_view piece = pending.back();
        pending.pop_back();
        const int32_t id = vocab_.PieceToId(piece);
        const auto split =
            vocab_.Is(id, PieceType::kUnused) ? splits.find(ToAbsl(piece)) : splits.end();
        if (split == splits.end()) {
          pieces.push_back({piece, id});
        } else {
          pending.push_back(split->second.second);
          pending.push_back(split->second.first);
        }
      }
    }
  };
  auto joined = [&](const Symbol& left, const Symbol& right) {
    if (has_unused_pieces_) return true;
    return !left.frozen && !right.frozen &&
           joined_chars_.contains(PairCode(text(left), text(right)));
  };
  for (part_end = 1; part_end <= num_symbols; ++part_end) {
    if (part_end < num_symbols && joined(symbols[part_end - 1], symbols[part_end])) continue;
    merge_part();
    output_part();
    part_begin = part_end;
  }
  return pieces;
}

}  // namespace glaserve
