// The prefix cache's bookkeeping without a model: longest-prefix lookup with exact token
// checks, LRU eviction within the byte bound, branch points.
#include "engine/prefix_state_cache.h"

#include <numeric>

#include "gtest/gtest.h"

namespace glaserve {
namespace {

constexpr int64_t kStateBytes = 1000;

std::shared_ptr<const SavedState> State(int64_t num_tokens) {
  auto state = std::make_shared<SavedState>();
  state->bytes.resize(kStateBytes);
  state->num_tokens = num_tokens;
  return state;
}

std::vector<int32_t> Range(int32_t n, int32_t start = 0) {
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), start);
  return ids;
}

int64_t EntryBytes(int64_t num_tokens) {
  return kStateBytes + num_tokens * 4 + PrefixStateCache::kEntryOverheadBytes;
}

TEST(PrefixStateCacheTest, FindsTheLongestCachedPrefix) {
  PrefixStateCache cache(1 << 20);
  const std::vector<int32_t> prompt = Range(100);
  EXPECT_FALSE(cache.Lookup(prompt, 99).has_value());
  cache.Insert(Range(10), State(10));
  cache.Insert(Range(50), State(50));
  cache.Insert(Range(100), State(100));
  cache.Insert(Range(60, 1), State(60));  // not a prefix: starts at 1
  std::optional<PrefixStateCache::Hit> hit = cache.Lookup(prompt, 99);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->num_tokens, 50);  // 100 is too long: one token must be left to prefill
  EXPECT_EQ(hit->state->num_tokens, 50);
  EXPECT_EQ(cache.Lookup(prompt, 49)->num_tokens, 10);
  EXPECT_FALSE(cache.Lookup(prompt, 9).has_value());
  EXPECT_EQ(cache.Lookup(Range(200), 199)->num_tokens, 100);
  // A prompt shorter than an entry never matches it.
  EXPECT_EQ(cache.Lookup(Range(30), 29)->num_tokens, 10);
}

TEST(PrefixStateCacheTest, ATokenDifferenceIsAMiss) {
  PrefixStateCache cache(1 << 20);
  cache.Insert(Range(20), State(20));
  std::vector<int32_t> prompt = Range(30);
  prompt[19] = 999;
  EXPECT_FALSE(cache.Lookup(prompt, 29).has_value());
  EXPECT_FALSE(cache.Contains(std::span(prompt).first(20)));
  EXPECT_TRUE(cache.Contains(Range(20)));
}

TEST(PrefixStateCacheTest, EvictsLeastRecentlyUsedWithinTheBound) {
  PrefixStateCache cache(3 * EntryBytes(10));
  cache.Insert(Range(10, 0), State(10));
  cache.Insert(Range(10, 100), State(10));
  cache.Insert(Range(10, 200), State(10));
  EXPECT_EQ(cache.num_entries(), 3);
  EXPECT_EQ(cache.num_bytes(), 3 * EntryBytes(10));
  // Using the oldest makes the second-oldest the next to go.
  ASSERT_TRUE(cache.Lookup(Range(11, 0), 10).has_value());
  cache.Insert(Range(10, 300), State(10));
  EXPECT_EQ(cache.num_entries(), 3);
  EXPECT_EQ(cache.num_evictions(), 1);
  EXPECT_TRUE(cache.Contains(Range(10, 0)));
  EXPECT_FALSE(cache.Contains(Range(10, 100)));
  EXPECT_TRUE(cache.Contains(Range(10, 200)));
  EXPECT_TRUE(cache.Contains(Range(10, 300)));
  EXPECT_LE(cache.num_bytes(), cache.max_bytes());
}

TEST(PrefixStateCacheTest, ReplacesTheSameKeyAndSkipsWhatCannotFit) {
  PrefixStateCache cache(EntryBytes(10) + 10);
  cache.Insert(Range(10), State(1));
  cache.Insert(Range(10), State(2));
  EXPECT_EQ(cache.num_entries(), 1);
  EXPECT_EQ(cache.num_bytes(), EntryBytes(10));
  EXPECT_EQ(cache.Lookup(Range(11), 10)->state->num_tokens, 2);
  cache.Insert(Range(100), State(100));  // alone larger than the bound: not kept, nothing evicted
  EXPECT_EQ(cache.num_entries(), 1);
  EXPECT_FALSE(cache.Contains(Range(100)));
}

TEST(PrefixStateCacheTest, LongestSharedPrefixIsWherePromptsBranch) {
  PrefixStateCache cache(1 << 20);
  EXPECT_EQ(cache.LongestSharedPrefix(Range(10)), 0);
  std::vector<int32_t> a = Range(40);
  cache.Insert(a, State(40));
  std::vector<int32_t> b = Range(60);
  b[25] = 7777;
  EXPECT_EQ(cache.LongestSharedPrefix(b), 25);
  EXPECT_EQ(cache.LongestSharedPrefix(Range(30)), 30);
  EXPECT_EQ(cache.LongestSharedPrefix(Range(50)), 40);
  // Only the most recently used entries are compared.
  cache.Insert(Range(5, 1000), State(5));
  EXPECT_EQ(cache.LongestSharedPrefix(b, /*max_entries=*/1), 0);
  EXPECT_EQ(cache.LongestSharedPrefix(b, /*max_entries=*/2), 25);
}

TEST(PrefixStateCacheTest, ManyLengthsStayConsistent) {
  PrefixStateCache cache(1 << 30);
  for (int n = 1; n <= 64; ++n) cache.Insert(Range(n), State(n));
  for (int n = 2; n <= 65; ++n) EXPECT_EQ(cache.Lookup(Range(n), n - 1)->num_tokens, n - 1);
  PrefixStateCache small(5 * EntryBytes(64));
  for (int n = 1; n <= 64; ++n) small.Insert(Range(n), State(n));
  EXPECT_LE(small.num_bytes(), small.max_bytes());
  EXPECT_EQ(small.Lookup(Range(100), 99)->num_tokens, 64);
}

}  // namespace
}  // namespace glaserve
