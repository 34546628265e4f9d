#include "loadtest/generate_call.h"

#include <algorithm>

#include "loadtest/stream_validator.h"

namespace glaserve::loadtest {

void GenerateCall::Start(v1::TextGeneration::Stub& stub, const CallOptions& options, v1::GenerateRequest request,
                         StreamRecord record, DoneCallback done) {
  auto* call = new GenerateCall(std::move(request), std::move(record), std::move(done));
  if (options.timeout_seconds > 0) {
    call->context_.set_deadline(std::chrono::system_clock::now() +
                                std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                    std::chrono::duration<double>(options.timeout_seconds)));
  }
  for (const auto& [key, value] : options.metadata) call->context_.AddMetadata(key, value);
  call->record_.request_id = call->request_.request_id();
  // Enough for most streams; capped so that thousands of huge max_tokens cost no memory.
  call->record_.gaps_seconds.reserve(std::min(call->record_.max_tokens, 4096));
  stub.async()->Generate(&call->context_, &call->request_, call);
  call->StartRead(&call->response_);
  call->record_.sent = Clock::now();
  call->StartCall();
}

void GenerateCall::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows with its status
  const Clock::time_point now = Clock::now();
  StreamRecord& r = record_;
  ++r.num_messages;
  // A finish reason already seen means this message came after the "last" one.
  if (r.finish_reason != v1::FINISH_REASON_UNSPECIFIED) ++r.num_early_finish_reasons;
  const int num_new = response_.token_ids_size();
  if (num_new > 0) {
    if (r.num_tokens == 0) {
      r.first_token = now;
      r.gaps_seconds.insert(r.gaps_seconds.end(), num_new - 1, 0.0f);
    } else {
      const float share = std::chrono::duration<float>(now - last_token_at_).count() / num_new;
      r.gaps_seconds.insert(r.gaps_seconds.end(), num_new, share);
    }
    r.num_tokens += num_new;
    last_token_at_ = now;
  }
  if (response_.request_id() != r.request_id) r.request_id_mismatch = true;
  if (response_.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) r.finish_reason = response_.finish_reason();
  if (response_.has_usage()) {
    r.has_usage = true;
    r.usage_prompt_tokens = response_.usage().prompt_tokens();
    r.usage_completion_tokens = response_.usage().completion_tokens();
    r.usage_cached_prompt_tokens = response_.usage().cached_prompt_tokens();
  }
  response_.Clear();
  StartRead(&response_);
}

void GenerateCall::OnDone(const grpc::Status& status) {
  record_.done = Clock::now();
  if (record_.num_tokens == 0) record_.first_token = record_.done;
  record_.status = status.error_code();
  record_.error_message = status.error_message();
  record_.violations = ValidateStream(record_);
  DoneCallback done = std::move(done_);
  StreamRecord record = std::move(record_);
  delete this;
  done(std::move(record));
}

}  // namespace glaserve::loadtest
