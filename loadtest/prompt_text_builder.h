// Builds text prompts of an exact token length. Text is cut and re-encoded until the
// server's own tokenizer (through Tokenize) counts exactly the asked number of tokens,
// because tokens per word vary by tokenizer and a "128K-token" prompt must be 128K tokens.
#ifndef GLASERVE_LOADTEST_PROMPT_TEXT_BUILDER_H_
#define GLASERVE_LOADTEST_PROMPT_TEXT_BUILDER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "loadtest/prompt_tokenizer.h"
#include "loadtest/random.h"

namespace glaserve::loadtest {

class PromptTextBuilder {
 public:
  // Asks the tokenizer how many BOS ids a prompt gets (the encoding of "").
  static absl::StatusOr<PromptTextBuilder> Create(PromptTokenizer& tokenizer);

  // Text that starts with `prefix` (a text this builder made, or "") and that encodes to
  // exactly `num_tokens` ids, BOS included; the rest is random common English words.
  absl::StatusOr<std::string> Build(const std::string& prefix, int32_t num_tokens, Random& random);

  int32_t num_bos() const { return num_bos_; }

 private:
  PromptTextBuilder(PromptTokenizer& tokenizer, int32_t num_bos) : tokenizer_(&tokenizer), num_bos_(num_bos) {}

  PromptTokenizer* tokenizer_;
  int32_t num_bos_;
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_PROMPT_TEXT_BUILDER_H_
