#include "loadtest/stream_validator.h"

namespace glaserve::loadtest {

std::vector<std::string> ValidateStream(const StreamRecord& record) {
  std::vector<std::string> violations;
  if (record.status != grpc::StatusCode::OK) return violations;
  if (record.finish_reason == v1::FINISH_REASON_UNSPECIFIED) violations.push_back("finish_reason_missing");
  if (record.num_early_finish_reasons > 0) violations.push_back("finish_reason_before_last_message");
  if (!record.has_usage) {
    violations.push_back("usage_missing");
  } else {
    if (record.usage_completion_tokens != record.num_tokens) violations.push_back("usage_completion_tokens_mismatch");
    if (record.usage_prompt_tokens != record.prompt_tokens) violations.push_back("usage_prompt_tokens_mismatch");
  }
  if (record.num_tokens > record.max_tokens || (record.ignore_eos && record.num_tokens != record.max_tokens)) {
    violations.push_back("token_count_mismatch");
  }
  if (record.ignore_eos && record.finish_reason != v1::FINISH_REASON_UNSPECIFIED &&
      record.finish_reason != v1::FINISH_REASON_LENGTH) {
    violations.push_back("finish_reason_not_length");
  }
  if (record.request_id_mismatch) violations.push_back("request_id_mismatch");
  return violations;
}

}  // namespace glaserve::loadtest
