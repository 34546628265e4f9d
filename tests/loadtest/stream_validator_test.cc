// Every broken promise of a stream is named; a good stream and a failed RPC have none.
#include "loadtest/stream_validator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve::loadtest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

StreamRecord Good() {
  StreamRecord r;
  r.prompt_tokens = 16;
  r.max_tokens = 8;
  r.ignore_eos = true;
  r.num_tokens = 8;
  r.num_messages = 8;
  r.finish_reason = v1::FINISH_REASON_LENGTH;
  r.has_usage = true;
  r.usage_prompt_tokens = 16;
  r.usage_completion_tokens = 8;
  return r;
}

TEST(StreamValidatorTest, GoodStreamPasses) {
  EXPECT_THAT(ValidateStream(Good()), IsEmpty());
  StreamRecord stopped_early = Good();  // EOS before max_tokens is fine without ignore_eos
  stopped_early.ignore_eos = false;
  stopped_early.num_tokens = stopped_early.usage_completion_tokens = 3;
  stopped_early.finish_reason = v1::FINISH_REASON_STOP;
  EXPECT_THAT(ValidateStream(stopped_early), IsEmpty());
}

TEST(StreamValidatorTest, FailedRpcIsItsStatusNotAViolation) {
  StreamRecord r;
  r.status = grpc::StatusCode::RESOURCE_EXHAUSTED;
  EXPECT_THAT(ValidateStream(r), IsEmpty());
}

TEST(StreamValidatorTest, NamesEachViolation) {
  StreamRecord r = Good();
  r.finish_reason = v1::FINISH_REASON_UNSPECIFIED;
  EXPECT_THAT(ValidateStream(r), ElementsAre("finish_reason_missing"));

  r = Good();
  r.num_early_finish_reasons = 1;
  EXPECT_THAT(ValidateStream(r), ElementsAre("finish_reason_before_last_message"));

  r = Good();
  r.has_usage = false;
  EXPECT_THAT(ValidateStream(r), ElementsAre("usage_missing"));

  r = Good();
  r.usage_prompt_tokens = 17;
  EXPECT_THAT(ValidateStream(r), ElementsAre("usage_prompt_tokens_mismatch"));

  r = Good();  // two tokens lost on the way: usage and the ignore_eos count both disagree
  r.num_tokens = 6;
  EXPECT_THAT(ValidateStream(r), ElementsAre("usage_completion_tokens_mismatch", "token_count_mismatch"));

  r = Good();
  r.finish_reason = v1::FINISH_REASON_STOP;
  EXPECT_THAT(ValidateStream(r), ElementsAre("finish_reason_not_length"));

  r = Good();  // more than max_tokens, even without ignore_eos
  r.ignore_eos = false;
  r.num_tokens = r.usage_completion_tokens = 9;
  EXPECT_THAT(ValidateStream(r), ElementsAre("token_count_mismatch"));

  r = Good();
  r.request_id_mismatch = true;
  EXPECT_THAT(ValidateStream(r), ElementsAre("request_id_mismatch"));
}

}  // namespace
}  // namespace glaserve::loadtest
