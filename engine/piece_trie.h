// A byte trie over SentencePiece pieces (or any strings), each with an int32 value. Built
// once, then read only: the Unigram lattice walks it a byte at a time, and user-defined
// symbols are found in text with LongestPrefix.
#ifndef GLASERVE_ENGINE_PIECE_TRIE_H_
#define GLASERVE_ENGINE_PIECE_TRIE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace glaserve {

class PieceTrie {
 public:
  static constexpr int32_t kRoot = 0;
  static constexpr int32_t kNoNode = -1;
  static constexpr int32_t kNoValue = -1;

  // A trie of no keys.
  PieceTrie() : PieceTrie(std::span<const std::pair<std::string_view, int32_t>>()) {}
  // `keys` are non-empty strings with values >= 0; a key given twice keeps its last value.
  explicit PieceTrie(std::span<const std::pair<std::string_view, int32_t>> keys);

  bool empty() const { return num_keys_ == 0; }

  // The node reached from `node` by `label`, or kNoNode.
  int32_t Child(int32_t node, uint8_t label) const {
    if (node == kRoot) return root_children_[label];
    const auto begin = labels_.begin() + first_edge_[node];
    const auto end = labels_.begin() + first_edge_[node + 1];
    const auto it = std::lower_bound(begin, end, label);
    return it != end && *it == label ? targets_[it - labels_.begin()] : kNoNode;
  }
  // The value of the key that ends at `node`, or kNoValue.
  int32_t value(int32_t node) const { return values_[node]; }

  // The length of the longest key that `text` starts with; 0 when none does.
  size_t LongestPrefix(std::string_view text) const;

 private:
  size_t num_keys_ = 0;
  // Nodes in compressed-row form: node n's outgoing edges are
  // [first_edge_[n], first_edge_[n + 1]), sorted by label.
  std::vector<int32_t> values_;       // [num_nodes]
  std::vector<uint32_t> first_edge_;  // [num_nodes + 1]
  std::vector<uint8_t> labels_;       // [num_edges]
  std::vector<int32_t> targets_;      // [num_edges]
  // The root has most edges and is visited at every position: a direct table.
  std::array<int32_t, 256> root_children_;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_PIECE_TRIE_H_
