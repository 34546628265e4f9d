#include "loadtest/prompt_text_builder.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace glaserve::loadtest {

namespace {

// Common English words: every tokenizer encodes them in few tokens, and the prompt reads
// as (meaningless) text rather than noise.
constexpr std::array<const char*, 96> kWords = {
    "the",   "of",    "and",    "to",     "in",   "is",    "that",  "it",     "was",   "for",   "on",   "are",
    "as",    "with",  "his",    "they",   "at",   "be",    "this",  "from",   "have",  "or",    "by",   "one",
    "had",   "not",   "but",    "what",   "all",  "were",  "when",  "we",     "there", "can",   "an",   "your",
    "which", "their", "said",   "if",     "do",   "will",  "each",  "about",  "how",   "up",    "out",  "them",
    "then",  "she",   "many",   "some",   "so",   "these", "would", "other",  "into",  "has",   "more", "her",
    "two",   "like",  "him",    "see",    "time", "could", "no",    "make",   "than",  "first", "been", "its",
    "who",   "now",   "people", "my",     "made", "over",  "did",   "down",   "only",  "way",   "find", "use",
    "may",   "water", "long",   "little", "very", "after", "words", "called", "just",  "where", "most", "know"};

// Cutting at a token boundary and re-encoding can merge or split pieces near the cut;
// a few rounds settle it.
constexpr int kMaxRounds = 16;

void AppendWords(std::string& text, int64_t count, Random& random) {
  for (int64_t i = 0; i < count; ++i) {
    if (!text.empty()) text += ' ';
    text += kWords[random.UniformInt(0, kWords.size() - 1)];
  }
}

}  // namespace

absl::StatusOr<PromptTextBuilder> PromptTextBuilder::Create(PromptTokenizer& tokenizer) {
  absl::StatusOr<std::vector<int32_t>> bos = tokenizer.Encode("");
  if (!bos.ok()) return bos.status();
  return PromptTextBuilder(tokenizer, static_cast<int32_t>(bos->size()));
}

absl::StatusOr<std::string> PromptTextBuilder::Build(const std::string& prefix, int32_t num_tokens, Random& random) {
  if (num_tokens <= num_bos_) {
    return absl::InvalidArgumentError(absl::StrCat("a text prompt of ", num_tokens, " tokens has no room for text (",
                                                   num_bos_, " BOS token(s) come first)"));
  }
  std::string text = prefix;
  int64_t num_prefix_tokens = num_bos_;
  if (!prefix.empty()) {
    absl::StatusOr<std::vector<int32_t>> prefix_ids = tokenizer_->Encode(prefix);
    if (!prefix_ids.ok()) return prefix_ids.status();
    num_prefix_tokens = static_cast<int64_t>(prefix_ids->size());
    if (num_prefix_tokens > num_tokens) {
      return absl::InvalidArgumentError(
          absl::StrCat("the shared prefix has ", num_prefix_tokens, " tokens, more than the prompt's ", num_tokens));
    }
  }
  // Each word is at least one token, so this first guess is at or above the target.
  AppendWords(text, num_tokens - num_prefix_tokens, random);
  bool was_cut = false;
  for (int round = 0; round < kMaxRounds; ++round) {
    absl::StatusOr<std::vector<int32_t>> ids = tokenizer_->Encode(text);
    if (!ids.ok()) return ids.status();
    const int64_t count = static_cast<int64_t>(ids->size());
    if (count == num_tokens) return text;
    if (count > num_tokens) {
      // Keep the first num_tokens ids; decoding them gives the text they came from.
      absl::StatusOr<std::string> cut =
          tokenizer_->Decode(std::vector<int32_t>(ids->begin() + num_bos_, ids->begin() + num_tokens));
      if (!cut.ok()) return cut.status();
      text = *std::move(cut);
      was_cut = true;
    } else if (was_cut) {
      // A few tokens short after a cut: one-letter words add one token each almost
      // everywhere, where random words could overshoot again.
      for (int64_t i = count; i < num_tokens; ++i) text += text.empty() ? "a" : " a";
    } else {
      AppendWords(text, num_tokens - count, random);
    }
  }
  return absl::InternalError(absl::StrCat("could not build a text prompt of exactly ", num_tokens, " tokens in ",
                                          kMaxRounds, " rounds; use --prompt-format ids"));
}

}  // namespace glaserve::loadtest
