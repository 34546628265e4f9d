#include "engine/stop_string_matcher.h"

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace glaserve {
namespace {

// Checks one Append's result.
void ExpectAppend(StopStringMatcher& matcher, std::string_view text, std::string_view emit,
                  bool stopped) {
  const StopStringMatcher::Result result = matcher.Append(text);
  EXPECT_EQ(result.emit, emit) << "after appending \"" << text << "\"";
  EXPECT_EQ(result.stopped, stopped) << "after appending \"" << text << "\"";
}

TEST(StopStringMatcherTest, WithoutStopsEverythingPassesThrough) {
  StopStringMatcher matcher({});
  ExpectAppend(matcher, "hello", "hello", false);
  ExpectAppend(matcher, " world", " world", false);
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopStringMatcherTest, MatchWithinOnePiece) {
  StopStringMatcher matcher({"STOP"});
  ExpectAppend(matcher, "helloSTOPworld", "hello", true);
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopStringMatcherTest, MatchAcrossPieces) {
  StopStringMatcher matcher({"STOP"});
  ExpectAppend(matcher, "hello S", "hello ", false);
  ExpectAppend(matcher, "TO", "", false);
  ExpectAppend(matcher, "P and more", "", true);
}

TEST(StopStringMatcherTest, HeldBackTextIsReleasedWhenItCannotMatch) {
  StopStringMatcher matcher({"STOP"});
  ExpectAppend(matcher, "abc ST", "abc ", false);
  ExpectAppend(matcher, "x", "STx", false);
}

TEST(StopStringMatcherTest, OverlappingPrefixes) {
  StopStringMatcher matcher({"ab"});
  ExpectAppend(matcher, "a", "", false);
  ExpectAppend(matcher, "a", "a", false);
  ExpectAppend(matcher, "b", "", true);

  StopStringMatcher one_piece({"ab"});
  ExpectAppend(one_piece, "aab", "a", true);
}

TEST(StopStringMatcherTest, HoldsTheLongestPossibleStopPrefix) {
  StopStringMatcher matcher({"aab", "xaaa"});
  ExpectAppend(matcher, "xa", "", false);   // could be "xaaa"
  ExpectAppend(matcher, "a", "", false);    // "xaa": still could be "xaaa"
  ExpectAppend(matcher, "b", "x", true);    // "xaab": "aab" matches at 1
}

TEST(StopStringMatcherTest, EarliestMatchWins) {
  StopStringMatcher matcher({"world", "lo w"});
  ExpectAppend(matcher, "hello world", "hel", true);
}

TEST(StopStringMatcherTest, FlushReturnsHeldBackText) {
  StopStringMatcher matcher({"STOP"});
  ExpectAppend(matcher, "foo ST", "foo ", false);
  EXPECT_EQ(matcher.Flush(), "ST");
  EXPECT_EQ(matcher.Flush(), "");
}

TEST(StopStringMatcherDeathTest, AppendAfterStopIsABug) {
  StopStringMatcher matcher({"x"});
  matcher.Append("x");
  EXPECT_DEATH(matcher.Append("y"), "after a stop string matched");
}

// Random texts cut into random pieces: the emitted text (plus Flush when nothing
// matched) must equal the text up to its first stop string, whatever the cuts.
TEST(StopStringMatcherTest, AgreesWithWholeTextSearchUnderRandomCuts) {
  const std::vector<std::string> stops = {"aba", "bb", "cab"};
  std::mt19937 rng(42);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int length = std::uniform_int_distribution<int>(0, 20)(rng);
    for (int i = 0; i < length; ++i) text += "abc"[rng() % 3];

    size_t first_match = std::string::npos;
    for (const std::string& stop : stops) first_match = std::min(first_match, text.find(stop));
    const std::string expected = text.substr(0, first_match);

    StopStringMatcher matcher(stops);
    std::string emitted;
    bool stopped = false;
    size_t pos = 0;
    while (pos < text.size() && !stopped) {
      const size_t piece = std::uniform_int_distribution<size_t>(0, 4)(rng);
      const StopStringMatcher::Result result = matcher.Append(text.substr(pos, piece));
      pos += piece;
      // Never emit beyond what the reference keeps: emitted text is never retracted.
      emitted += result.emit;
      ASSERT_EQ(expected.compare(0, emitted.size(), emitted), 0) << text;
      stopped = result.stopped;
    }
    if (!stopped) emitted += matcher.Flush();
    EXPECT_EQ(stopped, first_match != std::string::npos) << text;
    EXPECT_EQ(emitted, expected) << text;
  }
}

}  // namespace
}  // namespace glaserve
