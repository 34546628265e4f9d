#include "tests/testing/test_tokenizer.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/test_checkpoint.h"

namespace glaserve::testing {
namespace {

std::filesystem::path TrainTestTokenizer() {
  const std::filesystem::path dir = MakeTempDir("test_tokenizer");
  const std::filesystem::path log = dir / "spm_train.log";
  // Llama's tokenizer settings at toy scale. Identity normalization and kept whitespace
  // make decode(encode(text)) == text; one thread and no sentence sampling make the
  // model the same on every run.
  const std::string command = absl::StrCat(
      GLASERVE_SPM_TRAIN, " --input='", GLASERVE_SOURCE_DIR, "/tests/data/tokenizer_corpus.txt'",
      " --model_prefix='", (dir / "tokenizer").string(), "'",
      " --model_type=bpe --vocab_size=", kTestTokenizerVocabSize,
      " --byte_fallback=true --character_coverage=0.995",
      " --normalization_rule_name=identity --remove_extra_whitespaces=false",
      " --add_dummy_prefix=true --split_digits=true --allow_whitespace_only_pieces=true",
      " --unk_id=", kTestUnkId, " --bos_id=", kTestBosId, " --eos_id=", kTestEosId,
      " --pad_id=-1 --num_threads=1 --input_sentence_size=0 --shuffle_input_sentence=false",
      " --seed_sentencepiece_size=100000 --random_seed=1 >'", log.string(), "' 2>&1");
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "spm_train failed (" << rc << "): " << command << "\n" << ReadFile(log);
  }
  // Only tokenizer.model belongs in a checkpoint directory.
  std::filesystem::remove(dir / "tokenizer.vocab");
  std::filesystem::remove(log);
  return dir;
}

}  // namespace

std::filesystem::path BuildTestTokenizerDir() {
  static const std::filesystem::path* const dir = new std::filesystem::path(TrainTestTokenizer());
  return *dir;
}

const Tokenizer& TestTokenizer() {
  static const Tokenizer* const tokenizer = [] {
    absl::StatusOr<std::unique_ptr<Tokenizer>> loaded =
        Tokenizer::Load(BuildTestTokenizerDir(), kTestBosId, kTestEosId);
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.status();
      std::abort();
    }
    return loaded->release();
  }();
  return *tokenizer;
}

void CopyTestTokenizer(const std::filesystem::path& dir) {
  std::filesystem::copy_file(BuildTestTokenizerDir() / "tokenizer.model", dir / "tokenizer.model",
                             std::filesystem::copy_options::overwrite_existing);
}

void WriteTokenizerConfig(const std::filesystem::path& dir, bool add_bos_token) {
  WriteFile(dir / "tokenizer_config.json",
            absl::StrCat("{\"add_bos_token\": ", add_bos_token ? "true" : "false",
                         ", \"add_eos_token\": false, \"tokenizer_class\": \"LlamaTokenizer\"}\n"));
}

}  // namespace glaserve::testing
