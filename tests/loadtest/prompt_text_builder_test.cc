// Exact-length text prompts against a fake tokenizer (words of several pieces, a BOS);
// the real server's tokenizer is exercised in bench_process_test.cc.
#include "loadtest/prompt_text_builder.h"

#include <map>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace glaserve::loadtest {
namespace {

// Words split into pieces of up to 3 characters, the first marked with "▁" as
// SentencePiece marks word starts; a BOS id 1 starts every encoding.
class FakeTokenizer : public PromptTokenizer {
 public:
  absl::StatusOr<std::vector<int32_t>> Encode(const std::string& text) override {
    ++num_calls;
    std::vector<int32_t> ids = {kBos};
    for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
      for (size_t at = 0; at < word.size(); at += 3) {
        ids.push_back(Id(absl::StrCat(at == 0 ? "\xE2\x96\x81" : "", word.substr(at, 3))));
      }
    }
    return ids;
  }
  absl::StatusOr<std::string> Decode(const std::vector<int32_t>& ids) override {
    ++num_calls;
    std::string text;
    for (int32_t id : ids) {
      if (id == kBos) continue;
      std::string piece = pieces_.at(id);
      if (piece.rfind("\xE2\x96\x81", 0) == 0) piece = (text.empty() ? "" : " ") + piece.substr(3);
      text += piece;
    }
    return text;
  }
  int num_calls = 0;

 private:
  static constexpr int32_t kBos = 1;
  int32_t Id(const std::string& piece) {
    auto [it, inserted] = ids_.emplace(piece, static_cast<int32_t>(ids_.size()) + 2);
    if (inserted) pieces_[it->second] = piece;
    return it->second;
  }
  std::map<std::string, int32_t> ids_;
  std::map<int32_t, std::string> pieces_;
};

TEST(PromptTextBuilderTest, ExactLengths) {
  FakeTokenizer tokenizer;
  absl::StatusOr<PromptTextBuilder> builder = PromptTextBuilder::Create(tokenizer);
  ASSERT_TRUE(builder.ok());
  EXPECT_EQ(builder->num_bos(), 1);
  Random random(3);
  for (int32_t n : {2, 3, 7, 64, 500, 4096}) {
    tokenizer.num_calls = 0;
    absl::StatusOr<std::string> text = builder->Build("", n, random);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(tokenizer.Encode(*text)->size(), static_cast<size_t>(n)) << *text;
    EXPECT_LE(tokenizer.num_calls, 6) << n;  // a few rounds, whatever the length
  }
}

TEST(PromptTextBuilderTest, KeepsThePrefix) {
  FakeTokenizer tokenizer;
  PromptTextBuilder builder = *PromptTextBuilder::Create(tokenizer);
  Random random(5);
  const std::string prefix = *builder.Build("", 40, random);
  for (int32_t n : {40, 41, 45, 200}) {
    absl::StatusOr<std::string> text = builder.Build(prefix, n, random);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(text->rfind(prefix, 0), 0u) << *text;
    EXPECT_EQ(tokenizer.Encode(*text)->size(), static_cast<size_t>(n));
  }
  EXPECT_FALSE(builder.Build(prefix, 39, random).ok());  // shorter than the prefix
  EXPECT_FALSE(builder.Build("", 1, random).ok());       // only room for BOS
}

TEST(PromptTextBuilderTest, SameRandomSameText) {
  FakeTokenizer tokenizer;
  PromptTextBuilder builder = *PromptTextBuilder::Create(tokenizer);
  Random a(9), b(9);
  EXPECT_EQ(*builder.Build("", 300, a), *builder.Build("", 300, b));
}

}  // namespace
}  // namespace glaserve::loadtest
