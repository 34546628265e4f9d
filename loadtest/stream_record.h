// What a load test saw of one Generate stream: its timings, every inter-token gap, and
// what it needs to check the stream against the request.
#ifndef GLASERVE_LOADTEST_STREAM_RECORD_H_
#define GLASERVE_LOADTEST_STREAM_RECORD_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "glaserve/v1/glaserve.pb.h"

namespace glaserve::loadtest {

using Clock = std::chrono::steady_clock;

struct StreamRecord {
  // The request.
  int64_t index = 0;
  std::string request_id;
  int32_t prompt_tokens = 0;  // expected usage.prompt_tokens
  int32_t max_tokens = 0;
  bool ignore_eos = false;

  // When it was due (open loop: its arrival time; closed loop: when it was sent), sent,
  // got its first token, and ended (status received).
  Clock::time_point scheduled;
  Clock::time_point sent;
  Clock::time_point first_token;
  Clock::time_point done;

  // gaps_seconds[i] is the time between output tokens i and i + 1 as the client saw
  // them. Tokens coalesced into one message share the message's gap evenly, so the gaps
  // still add up to (last token - first token); those of the first message count 0.
  std::vector<float> gaps_seconds;
  int32_t num_tokens = 0;
  int32_t num_messages = 0;

  // The stream's end.
  v1::FinishReason finish_reason = v1::FINISH_REASON_UNSPECIFIED;
  int32_t num_early_finish_reasons = 0;  // set on a message other than the last
  bool has_usage = false;
  int32_t usage_prompt_tokens = 0;
  int32_t usage_completion_tokens = 0;
  int32_t usage_cached_prompt_tokens = 0;  // served from the server's prefix cache
  bool request_id_mismatch = false;
  grpc::StatusCode status = grpc::StatusCode::OK;
  std::string error_message;

  // Broken promises of an OK stream (see stream_validator.h); any makes it a failure.
  std::vector<std::string> violations;

  bool ok() const { return status == grpc::StatusCode::OK && violations.empty(); }
  double ttft_seconds() const { return std::chrono::duration<double>(first_token - sent).count(); }
  double e2e_seconds() const { return std::chrono::duration<double>(done - sent).count(); }
  // (e2e - TTFT) / (tokens - 1); 0 when fewer than two tokens.
  double tpot_seconds() const { return num_tokens < 2 ? 0.0 : (e2e_seconds() - ttft_seconds()) / (num_tokens - 1); }
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_STREAM_RECORD_H_
