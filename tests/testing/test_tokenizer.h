// Test fixture: a small SentencePiece model trained at test time from
// tests/data/tokenizer_corpus.txt with the spm_train tool, so no binary model lives in git.
// It is Llama-like (BPE, byte fallback, identity normalization, "▁" word boundaries) with a
// vocabulary small enough that CJK characters and emoji fall back to byte pieces (tests
// rely on 鱼 and 🦀 never appearing in the corpus, so they are always byte pieces).
#ifndef GLASERVE_TESTS_TESTING_TEST_TOKENIZER_H_
#define GLASERVE_TESTS_TESTING_TEST_TOKENIZER_H_

#include <cstdint>
#include <filesystem>

#include "engine/tokenizer.h"

namespace glaserve::testing {

// Special ids of the test tokenizer; the model's config.json should use the same.
inline constexpr int32_t kTestUnkId = 0;
inline constexpr int32_t kTestBosId = 1;
inline constexpr int32_t kTestEosId = 2;
inline constexpr int32_t kTestTokenizerVocabSize = 512;

// A directory holding only tokenizer.model, trained on first use and shared by the whole
// test process: treat it as read-only. Fails the test (ADD_FAILURE) if spm_train fails.
std::filesystem::path BuildTestTokenizerDir();

// The tokenizer of BuildTestTokenizerDir() with the ids above, loaded once per process
// (adds BOS). Aborts the test binary if it cannot be loaded.
const Tokenizer& TestTokenizer();

// Copies the test tokenizer.model into `dir` (e.g. next to a test checkpoint's config.json).
void CopyTestTokenizer(const std::filesystem::path& dir);

// Writes `dir`/tokenizer_config.json with the given add_bos_token.
void WriteTokenizerConfig(const std::filesystem::path& dir, bool add_bos_token);

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_TESTING_TEST_TOKENIZER_H_
