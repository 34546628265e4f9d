#include "engine/state_pool.h"

#include <set>

#include "gtest/gtest.h"

namespace glaserve {
namespace {

TEST(StatePoolTest, HandsOutEverySlotOnceThenNone) {
  StatePool pool(4);
  std::set<int32_t> slots;
  for (int i = 0; i < 4; ++i) {
    std::optional<int32_t> slot = pool.Allocate();
    ASSERT_TRUE(slot.has_value());
    EXPECT_TRUE(pool.in_use(*slot));
    slots.insert(*slot);
  }
  EXPECT_EQ(slots, (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_FALSE(pool.Allocate().has_value());
  EXPECT_EQ(pool.num_used(), 4);
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(StatePoolTest, FreedSlotIsReused) {
  StatePool pool(2);
  int32_t a = *pool.Allocate();
  int32_t b = *pool.Allocate();
  pool.Free(a);
  EXPECT_FALSE(pool.in_use(a));
  EXPECT_EQ(pool.num_used(), 1);
  EXPECT_EQ(*pool.Allocate(), a);
  pool.Free(b);
  pool.Free(a);
  EXPECT_EQ(pool.num_used(), 0);
}

TEST(StatePoolDeathTest, DoubleFreeIsABug) {
  StatePool pool(1);
  int32_t slot = *pool.Allocate();
  pool.Free(slot);
  EXPECT_DEATH(pool.Free(slot), "freed twice");
}

TEST(StatePoolTest, SlotsForMemory) {
  EXPECT_EQ(SlotsForMemory(1000, 100, 0), 10);
  EXPECT_EQ(SlotsForMemory(1000, 100, 4), 4);
  EXPECT_EQ(SlotsForMemory(99, 100, 0), 0);
  // gla-1.3B fp32 states (50.3 MB) in 40 GB.
  EXPECT_EQ(SlotsForMemory(40'000'000'000, 24LL * 4 * 256 * 512 * 4, 0), 794);
}

}  // namespace
}  // namespace glaserve
