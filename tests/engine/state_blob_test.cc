// Serialized states: a round trip keeps everything, and every kind of bad blob is refused
// with INVALID_ARGUMENT naming initial_state.
#include "engine/state_blob.h"

#include <cstring>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve {
namespace {

using ::testing::HasSubstr;

StateIdentity Identity() {
  return {.model_fingerprint = 0x1234abcd5678ef90,
          .state_dtype = "f32",
          .num_layers = 2,
          .num_kv_heads = 2,
          .head_v_dim = 4,
          .head_k_dim = 3,
          .state_bytes = 2 * 2 * 4 * 3 * 4,
          .vocab_size = 100};
}

SavedState State() {
  SavedState state;
  state.bytes.resize(Identity().state_bytes);
  for (size_t i = 0; i < state.bytes.size(); ++i) state.bytes[i] = static_cast<std::byte>(i * 7 + 1);
  state.num_tokens = 12345678901;
  state.pending_token_id = 42;
  return state;
}

std::string Refusal(const StateIdentity& identity, const std::string& blob) {
  absl::StatusOr<SavedState> parsed = ParseState(identity, blob);
  EXPECT_FALSE(parsed.ok());
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("initial_state: "));
  return std::string(parsed.status().message());
}

TEST(StateBlobTest, RoundTrip) {
  const std::string blob = SerializeState(Identity(), State());
  EXPECT_EQ(blob.size(), kStateBlobHeaderBytes + Identity().state_bytes);
  EXPECT_EQ(blob.substr(0, 8), "GLASTATE");
  absl::StatusOr<SavedState> parsed = ParseState(Identity(), blob);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->bytes, State().bytes);
  EXPECT_EQ(parsed->num_tokens, 12345678901);
  EXPECT_EQ(parsed->pending_token_id, 42);
}

TEST(StateBlobTest, RefusesAnotherModel) {
  const std::string blob = SerializeState(Identity(), State());
  StateIdentity other = Identity();
  other.model_fingerprint ^= 1;
  EXPECT_THAT(Refusal(other, blob), HasSubstr("another model"));
  other = Identity();
  other.state_dtype = "bf16";
  EXPECT_THAT(Refusal(other, blob), HasSubstr("this server keeps bf16"));
  other = Identity();
  other.head_k_dim = 4;
  other.state_bytes = 2 * 2 * 4 * 4 * 4;
  EXPECT_THAT(Refusal(other, blob), HasSubstr("shape [2, 2, 4, 3]"));
}

TEST(StateBlobTest, RefusesWrongSizes) {
  const std::string blob = SerializeState(Identity(), State());
  EXPECT_THAT(Refusal(Identity(), ""), HasSubstr("too short"));
  EXPECT_THAT(Refusal(Identity(), blob.substr(0, 50)), HasSubstr("too short"));
  EXPECT_THAT(Refusal(Identity(), blob.substr(0, blob.size() - 4)), HasSubstr("wrong size"));
  EXPECT_THAT(Refusal(Identity(), blob + "xx"), HasSubstr("wrong size"));
}

TEST(StateBlobTest, RefusesCorruption) {
  const std::string blob = SerializeState(Identity(), State());
  std::string bad = blob;
  bad[0] = 'X';
  EXPECT_THAT(Refusal(Identity(), bad), HasSubstr("bad magic"));
  EXPECT_THAT(Refusal(Identity(), std::string(200, 'a')), HasSubstr("bad magic"));
  bad = blob;
  bad[8] = 9;  // version
  EXPECT_THAT(Refusal(Identity(), bad), HasSubstr("version 9"));
  bad = blob;
  bad[50] ^= 1;  // token count, covered by the header checksum
  EXPECT_THAT(Refusal(Identity(), bad), HasSubstr("header is corrupt"));
  bad = blob;
  bad[kStateBlobHeaderBytes + 17] ^= 0x10;
  EXPECT_THAT(Refusal(Identity(), bad), HasSubstr("payload checksum"));
  // Outside the header checksum, so checked on their own (found by the state_blob fuzzer).
  bad = blob;
  bad[78] = 1;
  EXPECT_THAT(Refusal(Identity(), bad), HasSubstr("reserved bytes"));
}

TEST(StateBlobTest, RefusesBytesAfterTheDtypeName) {
  StateIdentity padded = Identity();
  padded.state_dtype = std::string("f32\0x", 5);  // what a writer of garbage would put there
  EXPECT_THAT(Refusal(Identity(), SerializeState(padded, State())), HasSubstr("after the dtype name"));
}

TEST(StateBlobTest, RefusesTokenCountsOutsideTheLimit) {
  SavedState state = State();
  state.num_tokens = -1;
  EXPECT_THAT(Refusal(Identity(), SerializeState(Identity(), state)), HasSubstr("token count -1 is outside"));
  // Continuing would overflow the count.
  state.num_tokens = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(Refusal(Identity(), SerializeState(Identity(), state)), HasSubstr("is outside"));
  state.num_tokens = kMaxStateTokens;
  EXPECT_TRUE(ParseState(Identity(), SerializeState(Identity(), state)).ok());
}

TEST(StateBlobTest, RefusesAPendingTokenOutsideTheVocabulary) {
  SavedState state = State();
  state.pending_token_id = 100;
  EXPECT_THAT(Refusal(Identity(), SerializeState(Identity(), state)), HasSubstr("pending token 100"));
  state.pending_token_id = -1;  // none: allowed
  EXPECT_TRUE(ParseState(Identity(), SerializeState(Identity(), state)).ok());
}

}  // namespace
}  // namespace glaserve
