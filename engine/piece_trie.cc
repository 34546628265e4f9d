#include "engine/piece_trie.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "engine/check.h"

namespace glaserve {

PieceTrie::PieceTrie(std::span<const std::pair<std::string_view, int32_t>> keys) {
  // Grow the trie with a hash map of edges, then lay the edges out per node.
  absl::flat_hash_map<uint64_t, int32_t> edges;  // (node << 8 | label) -> child
  values_.push_back(kNoValue);
  for (const auto& [key, value] : keys) {
    CHECK(!key.empty()) << "empty trie key";
    CHECK_GE(value, 0);
    int32_t node = kRoot;
    for (char c : key) {
      const uint64_t edge = static_cast<uint64_t>(node) << 8 | static_cast<uint8_t>(c);
      auto [it, inserted] = edges.try_emplace(edge, static_cast<int32_t>(values_.size()));
      if (inserted) values_.push_back(kNoValue);
      node = it->second;
    }
    if (values_[node] == kNoValue) ++num_keys_;
    values_[node] = value;
  }

  std::vector<std::tuple<int32_t, uint8_t, int32_t>> sorted;  // (parent, label, child)
  sorted.reserve(edges.size());
  for (const auto& [edge, child] : edges) {
    sorted.emplace_back(static_cast<int32_t>(edge >> 8), static_cast<uint8_t>(edge & 0xFF), child);
  }
  std::sort(sorted.begin(), sorted.end());
  root_children_.fill(kNoNode);
  first_edge_.assign(values_.size() + 1, 0);
  labels_.reserve(sorted.size());
  targets_.reserve(sorted.size());
  for (const auto& [parent, label, child] : sorted) {
    ++first_edge_[parent + 1];
    labels_.push_back(label);
    targets_.push_back(child);
    if (parent == kRoot) root_children_[label] = child;
  }
  for (size_t n = 1; n < first_edge_.size(); ++n) first_edge_[n] += first_edge_[n - 1];
}

size_t PieceTrie::LongestPrefix(std::string_view text) const {
  size_t longest = 0;
  int32_t node = kRoot;
  for (size_t i = 0; i < text.size(); ++i) {
    node = Child(node, static_cast<uint8_t>(text[i]));
    if (node == kNoNode) break;
    if (values_[node] != kNoValue) longest = i + 1;
  }
  return longest;
}

}  // namespace glaserve
