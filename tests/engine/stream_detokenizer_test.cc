#include "engine/stream_detokenizer.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve {
namespace {

using ::glaserve::testing::kTestBosId;
using ::glaserve::testing::kTestEosId;
using ::glaserve::testing::TestTokenizer;

constexpr char kReplacement[] = "\uFFFD";

// What each Append returned, then Flush.
std::vector<std::string> Stream(std::span<const int32_t> context,
                                std::span<const int32_t> generated) {
  StreamDetokenizer detokenizer(TestTokenizer(), context);
  std::vector<std::string> chunks;
  for (int32_t id : generated) chunks.push_back(detokenizer.Append(id));
  chunks.push_back(detokenizer.Flush());
  return chunks;
}

std::string Join(const std::vector<std::string>& chunks) {
  std::string text;
  for (const std::string& chunk : chunks) text += chunk;
  return text;
}

// The contract: the stream adds what decoding context + generated adds to the context's text.
void ExpectStreamsLikeWholeDecode(const std::vector<int32_t>& context,
                                  const std::vector<int32_t>& generated) {
  const Tokenizer& tokenizer = TestTokenizer();
  std::vector<int32_t> all = context;
  all.insert(all.end(), generated.begin(), generated.end());
  const std::string context_text = tokenizer.Decode(context);
  const std::string all_text = tokenizer.Decode(all);
  ASSERT_TRUE(absl::StartsWith(all_text, context_text));
  EXPECT_EQ(Join(Stream(context, generated)), all_text.substr(context_text.size()))
      << "context \"" << context_text << "\", whole \"" << all_text << "\"";
}

constexpr const char* kTexts[] = {"Hello world",
                                  "The quick brown fox jumps over the lazy dog.",
                                  " leading space",
                                  "two  spaces,\ttab and\nnewline ",
                                  "Café naïve façade crème brûlée",
                                  "Ο ήλιος λάμπει",
                                  "今天天气很好，鱼和熊猫。",
                                  "Emoji 🎉🦀 and flags 🇯🇵",
                                  "🦀🦀🦀",
                                  "mixed: αβγ 東京 👋 end"};

TEST(StreamDetokenizerTest, WithoutContextStreamsTheWholeDecode) {
  const Tokenizer& tokenizer = TestTokenizer();
  for (const std::string text : kTexts) {
    const std::vector<int32_t> ids = tokenizer.EncodeWithoutBos(text);
    EXPECT_EQ(Join(Stream({}, ids)), text);
    EXPECT_EQ(Join(Stream({}, tokenizer.Encode(text))), text) << "generated from BOS";
  }
}

TEST(StreamDetokenizerTest, AfterAPromptStreamsWhatTheGeneratedIdsAdd) {
  const Tokenizer& tokenizer = TestTokenizer();
  for (const std::string prompt : kTexts) {
    for (const std::string text : kTexts) {
      ExpectStreamsLikeWholeDecode(tokenizer.Encode(prompt), tokenizer.EncodeWithoutBos(text));
    }
  }
}

TEST(StreamDetokenizerTest, FirstGeneratedWordKeepsItsSpace) {
  const Tokenizer& tokenizer = TestTokenizer();
  const std::vector<int32_t> world = tokenizer.EncodeWithoutBos("world");
  ASSERT_EQ(tokenizer.Decode(world), "world");  // alone, SentencePiece drops the space
  const std::vector<std::string> chunks = Stream(tokenizer.Encode("Hello"), world);
  ASSERT_FALSE(chunks.front().empty());
  EXPECT_EQ(chunks.front()[0], ' ');
  EXPECT_EQ(Join(chunks), " world");
  // Only the BOS before it: now it is the start of the text.
  EXPECT_EQ(Join(Stream(std::vector<int32_t>{kTestBosId}, world)), "world");
}

TEST(StreamDetokenizerTest, HoldsBackSplitCharactersUntilComplete) {
  const Tokenizer& tokenizer = TestTokenizer();
  for (const std::string text : {"a🦀b", "鱼", "x 鱼🦀鱼 y", "🦀🦀"}) {
    const std::vector<int32_t> ids = tokenizer.EncodeWithoutBos(text);
    const std::vector<std::string> chunks = Stream({}, ids);
    int num_held = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_FALSE(absl::StrContains(chunks[i], kReplacement)) << text << " at id " << i;
      num_held += tokenizer.ByteValue(ids[i]).has_value() && chunks[i].empty();
    }
    EXPECT_GE(num_held, 2) << text << ": a character must be split across byte ids";
    EXPECT_EQ(Join(chunks), text);
  }
  // The crab's four bytes: three ids wait, the fourth completes the character.
  std::vector<int32_t> crab = tokenizer.EncodeWithoutBos("🦀");
  crab.erase(crab.begin());  // "▁"
  ASSERT_EQ(crab.size(), 4u);
  EXPECT_EQ(Stream(std::vector<int32_t>{kTestBosId}, crab),
            (std::vector<std::string>{"", "", "", "🦀", ""}));
}

TEST(StreamDetokenizerTest, FlushReleasesAHalfDoneCharacter) {
  const Tokenizer& tokenizer = TestTokenizer();
  std::vector<int32_t> ids = tokenizer.Encode("ok 🦀");
  ids.resize(ids.size() - 2);  // drop the last two of the crab's four bytes
  const std::vector<std::string> chunks = Stream({}, ids);
  EXPECT_EQ(chunks.back(), absl::StrCat(kReplacement, kReplacement));
  EXPECT_EQ(Join(chunks), tokenizer.Decode(ids));
  // An EOS ends the byte sequence too.
  ids.push_back(kTestEosId);
  EXPECT_EQ(Stream({}, ids).back(), "");
  ExpectStreamsLikeWholeDecode({}, ids);
}

TEST(StreamDetokenizerTest, IdsOutsideTheVocabularyAreSkipped) {
  const Tokenizer& tokenizer = TestTokenizer();
  std::vector<int32_t> ids;
  for (int32_t id : tokenizer.EncodeWithoutBos("a 🦀 b")) {
    ids.push_back(id);
    ids.push_back(-7);
    ids.push_back(tokenizer.vocab_size() + 3);
  }
  EXPECT_EQ(Join(Stream(tokenizer.Encode("x"), ids)), " a 🦀 b");
}

TEST(StreamDetokenizerTest, ManyIdsWithoutTextBeforeTheFirstWord) {
  const Tokenizer& tokenizer = TestTokenizer();
  std::vector<int32_t> ids(1000, kTestEosId);
  for (int32_t id : tokenizer.EncodeWithoutBos("Hello")) ids.push_back(id);
  ExpectStreamsLikeWholeDecode({kTestBosId}, ids);
  EXPECT_EQ(Join(Stream(std::vector<int32_t>{kTestBosId}, ids)), "Hello");
}

// Random ids, rich in byte pieces (including invalid UTF-8), "▁" pieces and control ids,
// after contexts with and without text.
TEST(StreamDetokenizerTest, RandomIdsStreamLikeWholeDecode) {
  const Tokenizer& tokenizer = TestTokenizer();
  std::vector<int32_t> byte_ids, space_ids;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    if (tokenizer.ByteValue(id).has_value()) byte_ids.push_back(id);
    if (tokenizer.IdToPiece(id).find_first_not_of("\xE2\x96\x81") == std::string::npos) {
      space_ids.push_back(id);  // "▁", "▁▁", ...
    }
  }
  ASSERT_EQ(byte_ids.size(), 256u);
  ASSERT_FALSE(space_ids.empty());
  // Lead and continuation bytes of real characters, so that some sequences complete.
  std::vector<int32_t> utf8_byte_ids;
  for (int32_t id : tokenizer.EncodeWithoutBos("é鱼🦀")) {
    if (tokenizer.ByteValue(id).has_value()) utf8_byte_ids.push_back(id);
  }

  std::mt19937 random(42);
  auto pick = [&](const std::vector<int32_t>& ids) {
    return ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(random)];
  };
  auto random_id = [&]() -> int32_t {
    switch (std::uniform_int_distribution<int>(0, 5)(random)) {
      case 0:
        return pick(byte_ids);
      case 1:
        return pick(utf8_byte_ids);
      case 2:
        return pick(space_ids);
      case 3:
        return std::uniform_int_distribution<int32_t>(0, 2)(random);  // unk, BOS, EOS
      default:
        return std::uniform_int_distribution<int32_t>(0, tokenizer.vocab_size() - 1)(random);
    }
  };
  const std::vector<std::vector<int32_t>> fixed_contexts = {
      {}, {kTestBosId}, {pick(space_ids)}, tokenizer.Encode("Hello"), tokenizer.Encode("鱼")};
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<int32_t> context;
    if (trial % 2 == 0) {
      context = fixed_contexts[trial / 2 % fixed_contexts.size()];
    } else {
      // A context of random ids that ends on a character boundary (here: a non-byte id).
      const int length = std::uniform_int_distribution<int>(0, 6)(random);
      for (int i = 0; i < length; ++i) context.push_back(random_id());
      context.push_back(pick(space_ids));
    }
    std::vector<int32_t> generated(std::uniform_int_distribution<int>(0, 30)(random));
    for (int32_t& id : generated) id = random_id();
    ExpectStreamsLikeWholeDecode(context, generated);
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace glaserve
