// What fuzz targets share: a property check that aborts (so libFuzzer and the corpus
// replay both report it as a crash, with the input), and the trained model's tokenizer.
#ifndef GLASERVE_TESTS_FUZZ_FUZZ_CHECK_H_
#define GLASERVE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "engine/tokenizer.h"

// Unlike CHECK, also on in the fuzz build's own flags, and says which property failed.
#define FUZZ_CHECK(condition)                                                                   \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

namespace glaserve::fuzz {

// The tokenizer of models/gla-brown-4m (a 4096-piece BPE model with byte fallback),
// loaded once; aborts if it cannot be.
inline const Tokenizer& BrownTokenizer() {
  static const Tokenizer* tokenizer = [] {
    absl::StatusOr<std::unique_ptr<Tokenizer>> loaded =
        Tokenizer::Load(GLASERVE_SOURCE_DIR "/models/gla-brown-4m", /*bos_token_id=*/1, /*eos_token_id=*/2);
    if (!loaded.ok()) {
      std::fprintf(stderr, "cannot load the tokenizer: %s\n", std::string(loaded.status().message()).c_str());
      std::abort();
    }
    return loaded->release();
  }();
  return *tokenizer;
}

}  // namespace glaserve::fuzz

#endif  // GLASERVE_TESTS_FUZZ_FUZZ_CHECK_H_
