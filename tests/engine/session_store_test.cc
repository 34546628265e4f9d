// Sessions without a model: resume, replace, TTL, byte bound, one request at a time.
#include "engine/session_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kStateBytes = 1000;
const absl::Time kT0 = absl::FromUnixSeconds(1000000);

std::shared_ptr<const SavedState> State(int32_t pending) {
  auto state = std::make_shared<SavedState>();
  state->bytes.resize(kStateBytes);
  state->pending_token_id = pending;
  return state;
}

int64_t SessionBytes(const std::string& id) { return kStateBytes + id.size() + SessionStore::kSessionOverheadBytes; }

TEST(SessionStoreTest, StartThenResume) {
  SessionStore store(1 << 20, absl::Minutes(1));
  absl::StatusOr<std::shared_ptr<const SavedState>> start = store.Acquire("a", /*resume=*/false, kT0);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(*start, nullptr);
  store.Release("a", State(7), kT0);
  EXPECT_EQ(store.num_sessions(), 1);
  EXPECT_EQ(store.num_bytes(), SessionBytes("a"));
  absl::StatusOr<std::shared_ptr<const SavedState>> resumed = store.Acquire("a", true, kT0 + absl::Seconds(1));
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ((*resumed)->pending_token_id, 7);
  store.Release("a", State(8), kT0 + absl::Seconds(2));
  EXPECT_EQ((*store.Acquire("a", true, kT0 + absl::Seconds(3)))->pending_token_id, 8);
  store.Release("a", nullptr, kT0 + absl::Seconds(3));  // a failed turn leaves the session as it was
  EXPECT_EQ((*store.Acquire("a", true, kT0 + absl::Seconds(4)))->pending_token_id, 8);
}

TEST(SessionStoreTest, UnknownIsNotFound) {
  SessionStore store(1 << 20, absl::Minutes(1));
  absl::Status status = store.Acquire("nope", true, kT0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"nope\" is unknown or expired"));
  // A refused resume holds nothing.
  EXPECT_TRUE(store.Acquire("nope", false, kT0).ok());
}

TEST(SessionStoreTest, ExpiresAfterTheTtlSinceLastUse) {
  SessionStore store(1 << 20, absl::Seconds(10));
  ASSERT_TRUE(store.Acquire("a", false, kT0).ok());
  store.Release("a", State(1), kT0);
  ASSERT_TRUE(store.Acquire("a", true, kT0 + absl::Seconds(9)).ok());  // use renews it
  store.Release("a", nullptr, kT0 + absl::Seconds(9));
  ASSERT_TRUE(store.Acquire("a", true, kT0 + absl::Seconds(18)).ok());
  store.Release("a", nullptr, kT0 + absl::Seconds(18));
  store.Expire(kT0 + absl::Seconds(28) + absl::Milliseconds(1));
  EXPECT_EQ(store.num_sessions(), 0);
  EXPECT_EQ(store.num_bytes(), 0);
  EXPECT_EQ(store.Acquire("a", true, kT0 + absl::Seconds(29)).status().code(), absl::StatusCode::kNotFound);
}

TEST(SessionStoreTest, DropsLeastRecentlyUsedBeyondTheBound) {
  SessionStore store(2 * SessionBytes("a"), absl::Hours(1));
  for (const char* id : {"a", "b"}) {
    ASSERT_TRUE(store.Acquire(id, false, kT0).ok());
    store.Release(id, State(1), kT0);
  }
  ASSERT_TRUE(store.Acquire("a", true, kT0 + absl::Seconds(1)).ok());  // b is now the oldest
  store.Release("a", nullptr, kT0 + absl::Seconds(1));
  ASSERT_TRUE(store.Acquire("c", false, kT0 + absl::Seconds(2)).ok());
  store.Release("c", State(1), kT0 + absl::Seconds(2));
  EXPECT_EQ(store.num_sessions(), 2);
  EXPECT_LE(store.num_bytes(), 2 * SessionBytes("a"));
  EXPECT_EQ(store.Acquire("b", true, kT0 + absl::Seconds(3)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.Acquire("a", true, kT0 + absl::Seconds(3)).ok());
  EXPECT_TRUE(store.Fits(kStateBytes));
  EXPECT_FALSE(SessionStore(kStateBytes, absl::Hours(1)).Fits(kStateBytes));
}

TEST(SessionStoreTest, OneRequestAtATime) {
  SessionStore store(1 << 20, absl::Hours(1));
  ASSERT_TRUE(store.Acquire("a", false, kT0).ok());
  EXPECT_EQ(store.Acquire("a", false, kT0).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store.Acquire("a", true, kT0).status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store.Acquire("b", false, kT0).ok());  // other sessions are not affected
  store.Release("a", State(3), kT0);
  EXPECT_TRUE(store.Acquire("a", true, kT0).ok());
}

}  // namespace
}  // namespace glaserve
