#include "engine/tokenizer.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve {
namespace {

using ::glaserve::testing::BuildTestTokenizerDir;
using ::glaserve::testing::CopyTestTokenizer;
using ::glaserve::testing::kTestBosId;
using ::glaserve::testing::kTestEosId;
using ::glaserve::testing::MakeTempDir;
using ::glaserve::testing::TestTokenizer;
using ::glaserve::testing::WriteFile;
using ::glaserve::testing::WriteTokenizerConfig;
using ::testing::HasSubstr;

// The ids of `text` that are byte-fallback pieces.
int NumByteIds(const Tokenizer& tokenizer, std::string_view text) {
  int num_bytes = 0;
  for (int32_t id : tokenizer.EncodeWithoutBos(text)) {
    num_bytes += tokenizer.ByteValue(id).has_value();
  }
  return num_bytes;
}

TEST(TokenizerTest, LoadsTheTestModel) {
  const Tokenizer& tokenizer = TestTokenizer();
  EXPECT_EQ(tokenizer.vocab_size(), testing::kTestTokenizerVocabSize);
  EXPECT_TRUE(tokenizer.add_bos());  // no tokenizer_config.json
  EXPECT_EQ(tokenizer.bos_id(), kTestBosId);
  EXPECT_EQ(tokenizer.eos_id(), kTestEosId);
  EXPECT_EQ(tokenizer.IdToPiece(kTestBosId), "<s>");
  EXPECT_EQ(tokenizer.IdToPiece(kTestEosId), "</s>");
  EXPECT_TRUE(tokenizer.IsControl(kTestEosId));
}

TEST(TokenizerTest, RoundTripsText) {
  const Tokenizer& tokenizer = TestTokenizer();
  for (const std::string text :
       {"Hello world", "The quick brown fox jumps over the lazy dog.", "", " leading space",
        "two  spaces,\ttab and\nnewline ", "Numbers: 2024, 3.14159!",
        "Café naïve façade crème brûlée", "Ο ήλιος λάμπει", "今天天气很好，鱼和熊猫。",
        "Emoji 🎉🦀 and flags 🇯🇵", "mixed: αβγ 東京 👋 end"}) {
    EXPECT_EQ(tokenizer.Decode(tokenizer.EncodeWithoutBos(text)), text);
    EXPECT_EQ(tokenizer.Decode(tokenizer.Encode(text)), text) << "BOS has no text";
  }
}

TEST(TokenizerTest, RareCharactersFallBackToBytes) {
  const Tokenizer& tokenizer = TestTokenizer();
  // Neither is in the corpus: each must come out as its UTF-8 bytes, one id per byte.
  EXPECT_EQ(NumByteIds(tokenizer, "🦀"), 4);
  EXPECT_EQ(NumByteIds(tokenizer, "鱼"), 3);
  std::vector<uint8_t> bytes;
  for (int32_t id : tokenizer.EncodeWithoutBos("鱼")) {
    if (auto byte = tokenizer.ByteValue(id)) bytes.push_back(*byte);
  }
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0xE9, 0xB1, 0xBC}));
  EXPECT_EQ(tokenizer.IdToPiece(tokenizer.EncodeWithoutBos("鱼").back()), "<0xBC>");
  EXPECT_EQ(NumByteIds(tokenizer, "the"), 0);
}

TEST(TokenizerTest, EncodeAddsTheBosFromTheModelConfig) {
  const Tokenizer& tokenizer = TestTokenizer();
  const std::vector<int32_t> without_bos = tokenizer.EncodeWithoutBos("Hello");
  std::vector<int32_t> with_bos = {kTestBosId};
  with_bos.insert(with_bos.end(), without_bos.begin(), without_bos.end());
  EXPECT_EQ(tokenizer.Encode("Hello"), with_bos);

  // The BOS id is the caller's (config.json's), not the tokenizer model's.
  auto other_bos = Tokenizer::Load(BuildTestTokenizerDir(), /*bos_token_id=*/5, kTestEosId);
  ASSERT_TRUE(other_bos.ok()) << other_bos.status();
  EXPECT_EQ((*other_bos)->Encode("Hello").front(), 5);
}

TEST(TokenizerTest, TokenizerConfigSaysWhetherToAddBos) {
  for (bool add_bos_token : {false, true}) {
    const std::filesystem::path dir = MakeTempDir("tokenizer_add_bos");
    CopyTestTokenizer(dir);
    WriteTokenizerConfig(dir, add_bos_token);
    auto tokenizer = Tokenizer::Load(dir, kTestBosId, kTestEosId);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    EXPECT_EQ((*tokenizer)->add_bos(), add_bos_token);
    EXPECT_EQ((*tokenizer)->Encode("Hello").front() == kTestBosId, add_bos_token);
  }
}

TEST(TokenizerTest, MissingModelIsNotFound) {
  const std::filesystem::path dir = MakeTempDir("tokenizer_missing");
  auto tokenizer = Tokenizer::Load(dir, kTestBosId, kTestEosId);
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tokenizer.status().message(), HasSubstr((dir / "tokenizer.model").string()));
}

TEST(TokenizerTest, CorruptModelIsAnError) {
  const std::string model = testing::ReadFile(BuildTestTokenizerDir() / "tokenizer.model");
  for (const std::string& contents :
       {std::string("this is not a model"), std::string(), model.substr(0, model.size() / 2)}) {
    const std::filesystem::path dir = MakeTempDir("tokenizer_corrupt");
    WriteFile(dir / "tokenizer.model", contents);
    auto tokenizer = Tokenizer::Load(dir, kTestBosId, kTestEosId);
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument) << tokenizer.status();
    EXPECT_THAT(tokenizer.status().message(), HasSubstr("tokenizer.model"));
  }
  const std::filesystem::path dir = MakeTempDir("tokenizer_directory");
  std::filesystem::create_directory(dir / "tokenizer.model");
  EXPECT_EQ(Tokenizer::Load(dir, kTestBosId, kTestEosId).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerTest, BadTokenizerConfigIsAnError) {
  for (const std::string config : {"{not json", "[true]", "{\"add_bos_token\": \"yes\"}"}) {
    const std::filesystem::path dir = MakeTempDir("tokenizer_bad_config");
    CopyTestTokenizer(dir);
    WriteFile(dir / "tokenizer_config.json", config);
    auto tokenizer = Tokenizer::Load(dir, kTestBosId, kTestEosId);
    EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument) << config;
    EXPECT_THAT(tokenizer.status().message(), HasSubstr("tokenizer_config.json"));
  }
}

TEST(TokenizerTest, BosOutsideTheVocabularyIsAnError) {
  auto tokenizer = Tokenizer::Load(BuildTestTokenizerDir(), /*bos_token_id=*/100000, kTestEosId);
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(), HasSubstr("bos_token_id"));
}

TEST(TokenizerTest, DecodeSkipsIdsOutsideTheVocabulary) {
  const Tokenizer& tokenizer = TestTokenizer();
  const std::vector<int32_t> ids = tokenizer.EncodeWithoutBos("Hello 🦀");
  std::vector<int32_t> with_bad_ids = {-1, tokenizer.vocab_size()};
  for (int32_t id : ids) {
    with_bad_ids.push_back(id);
    with_bad_ids.push_back(1 << 30);
  }
  EXPECT_EQ(tokenizer.Decode(with_bad_ids), "Hello 🦀");
  EXPECT_EQ(tokenizer.DecodeContinuation(with_bad_ids), " Hello 🦀");
  EXPECT_EQ(tokenizer.IdToPiece(-1), "");
  EXPECT_EQ(tokenizer.IdToPiece(tokenizer.vocab_size()), "");
  EXPECT_FALSE(tokenizer.ByteValue(-1).has_value());
  EXPECT_FALSE(tokenizer.IsControl(tokenizer.vocab_size()));
}

TEST(TokenizerTest, ControlIdsHaveNoText) {
  const Tokenizer& tokenizer = TestTokenizer();
  std::vector<int32_t> ids = tokenizer.Encode("Hello");
  ids.push_back(kTestEosId);
  EXPECT_EQ(tokenizer.Decode(ids), "Hello");
}

TEST(TokenizerTest, ContinuationKeepsTheLeadingSpace) {
  const Tokenizer& tokenizer = TestTokenizer();
  const std::vector<int32_t> ids = tokenizer.EncodeWithoutBos("world");
  ASSERT_EQ(tokenizer.IdToPiece(ids.front()).substr(0, 3), "▁");
  EXPECT_EQ(tokenizer.Decode(ids), "world");
  EXPECT_EQ(tokenizer.DecodeContinuation(ids), " world");
  EXPECT_EQ(tokenizer.DecodeContinuation({}), "");
}

TEST(TokenizerTest, InvalidUtf8IsEncodedAsReplacementCharacters) {
  const Tokenizer& tokenizer = TestTokenizer();
  EXPECT_EQ(tokenizer.Decode(tokenizer.EncodeWithoutBos("a\xFF-")), "a\uFFFD-");
}

}  // namespace
}  // namespace glaserve
