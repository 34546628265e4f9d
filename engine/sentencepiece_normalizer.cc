#include "engine/sentencepiece_normalizer.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/sentencepiece_utf8.h"

namespace glaserve {
namespace {

uint32_t LoadLittleEndian32(const char* bytes) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i)
    value |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  return value;
}

// Fields of a darts-clone double-array unit.
bool HasLeaf(uint32_t unit) { return (unit >> 8) & 1; }
uint32_t Value(uint32_t unit) { return unit & 0x7FFFFFFF; }
// A leaf unit has the top bit set, so it never matches a byte label.
uint32_t Label(uint32_t unit) { return unit & 0x800000FF; }
uint32_t Offset(uint32_t unit) { return (unit >> 10) << ((unit & (1U << 9)) >> 6); }

}  // namespace

absl::StatusOr<SentencePieceNormalizer> SentencePieceNormalizer::Create(
    SentencePieceNormalizerSpec spec, bool treat_whitespace_as_suffix,
    const PieceTrie* user_defined_symbols) {
  SentencePieceNormalizer normalizer;
  const std::string& charsmap = spec.precompiled_charsmap;
  if (!charsmap.empty()) {  // else the identity
    if (charsmap.size() <= 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("precompiled_charsmap of ", charsmap.size(), " bytes is too short"));
    }
    const uint32_t trie_size = LoadLittleEndian32(charsmap.data());
    if (trie_size > charsmap.size() - 4) {
      return absl::InvalidArgumentError(absl::StrCat("precompiled_charsmap claims a ", trie_size,
                                                     "-byte trie in ", charsmap.size(), " bytes"));
    }
    normalizer.num_units_ = trie_size / 4;
    normalizer.targets_begin_ = 4 + static_cast<size_t>(trie_size);
    // Every target ends in NUL, so a target read from any offset stops inside the blob.
    if (normalizer.targets_begin_ < charsmap.size() && charsmap.back() != '\0') {
      return absl::InvalidArgumentError("precompiled_charsmap: the targets do not end in NUL");
    }
  }
  normalizer.spec_ = std::move(spec);
  normalizer.treat_whitespace_as_suffix_ = treat_whitespace_as_suffix;
  normalizer.user_defined_symbols_ = user_defined_symbols;
  return normalizer;
}

std::string SentencePieceNormalizer::Normalize(std::string_view text) const {
  std::string normalized;
  if (spec_.remove_extra_whitespaces) {
    while (!text.empty()) {
      const auto [prefix, length] = NormalizePrefix(text);
      if (prefix != " ") break;
      text.remove_prefix(length);
    }
  }
  if (text.empty()) return normalized;

  normalized.reserve(text.size() + text.size() / 4 + kSpaceSymbol.size());
  const std::string_view space = spec_.escape_whitespaces ? kSpaceSymbol : " ";
  // The dummy "▁" makes a text's first word look like any other ("world" as in "a world").
  if (spec_.add_dummy_prefix && !treat_whitespace_as_suffix_) normalized.append(space);
  bool after_space = spec_.remove_extra_whitespaces;
  while (!text.empty()) {
    auto [prefix, length] = NormalizePrefix(text);
    text.remove_prefix(length);
    if (after_space) {  // collapses runs of spaces
      while (!prefix.empty() && prefix.front() == ' ') prefix.remove_prefix(1);
    }
    if (prefix.empty()) continue;
    for (char c : prefix) {
      if (c == ' ') {
        normalized.append(space);
      } else {
        normalized.push_back(c);
      }
    }
    after_space = spec_.remove_extra_whitespaces && prefix.back() == ' ';
  }
  if (spec_.remove_extra_whitespaces) {
    while (normalized.ends_with(space)) normalized.resize(normalized.size() - space.size());
  }
  if (spec_.add_dummy_prefix && treat_whitespace_as_suffix_) normalized.append(space);
  return normalized;
}

std::pair<std::string_view, size_t> SentencePieceNormalizer::NormalizePrefix(
    std::string_view text) const {
  if (user_defined_symbols_ != nullptr) {
    if (const size_t length = user_defined_symbols_->LongestPrefix(text); length > 0) {
      return {text.substr(0, length), length};
    }
  }
  if (const auto [length, target] = LongestRule(text); length > 0) {
    return {std::string_view(spec_.precompiled_charsmap.data() + targets_begin_ + target), length};
  }
  if (const size_t length = ValidCharLength(text); length > 0) {
    return {text.substr(0, length), length};
  }
  return {kReplacementCharacter, 1};  // one invalid byte
}

std::pair<size_t, size_t> SentencePieceNormalizer::LongestRule(std::string_view text) const {
  std::pair<size_t, size_t> longest = {0, 0};
  if (num_units_ == 0) return longest;
  const size_t num_targets = spec_.precompiled_charsmap.size() - targets_begin_;
  // Walk the double array a byte at a time; every index is checked, since the units come
  // from the file.
  uint32_t pos = Offset(Unit(0));
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t label = static_cast<uint8_t>(text[i]);
    pos ^= label;
    if (pos >= num_units_) break;
    const uint32_t unit = Unit(pos);
    if (Label(unit) != label) break;
    pos ^= Offset(unit);
    if (HasLeaf(unit)) {
      if (pos >= num_units_) break;
      const uint32_t target = Value(Unit(pos));
      if (target < num_targets) longest = {i + 1, target};
    }
  }
  return longest;
}

uint32_t SentencePieceNormalizer::Unit(uint32_t index) const {
  return LoadLittleEndian32(spec_.precompiled_charsmap.data() + 4 + 4 * static_cast<size_t>(index));
}

}  // namespace glaserve
