#include "server/generate_reactor.h"

#include <utility>

#include "server/grpc_status.h"
#include "server/request_conversion.h"

namespace glaserve {

// The engine's handle on the stream. It outlives the reactor when the client goes away
// first, so it reaches the reactor only through a pointer cleared in OnDone.
class GenerateReactor::Sink : public RequestSink {
 public:
  Sink(GenerateReactor* reactor, GenerateObserver* observer, absl::Time arrival)
      : reactor_(reactor), observer_(observer), last_tokens_at_(arrival) {}

  void OnUpdate(RequestUpdate update) override {
    if (observer_ != nullptr) {
      const absl::Time now = absl::Now();
      if (!update.tokens.empty()) {
        observer_->OnTokens(update.tokens.size(), now - last_tokens_at_, !any_tokens_);
        any_tokens_ = true;
        last_tokens_at_ = now;
      }
      if (update.final) observer_->OnFinished(request_id_, update);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (reactor_ == nullptr) return;  // the stream is already gone
    reactor_->Deliver(std::move(update));
  }

  void Detach() {
    std::lock_guard<std::mutex> lock(mutex_);
    reactor_ = nullptr;
  }

  std::string request_id_;

 private:
  std::mutex mutex_;
  GenerateReactor* reactor_;  // guarded by mutex_
  GenerateObserver* observer_;
  absl::Time last_tokens_at_;  // engine thread only
  bool any_tokens_ = false;    // engine thread only
};

GenerateReactor::GenerateReactor(Engine& engine, GenerationRequest request, GenerateObserver* observer,
                                 int64_t stream_buffer_bytes)
    : stream_buffer_bytes_(stream_buffer_bytes) {
  request_id_ = request.request_id;
  logprobs_ = request.params.logprobs > 0;
  sink_ = std::make_shared<Sink>(this, observer, absl::Now());
  sink_->request_id_ = request_id_;
  // Held across Submit: the engine thread may deliver before handle_ is set otherwise.
  std::lock_guard<std::mutex> lock(mutex_);
  absl::StatusOr<std::shared_ptr<RequestHandle>> handle = engine.Submit(std::move(request), sink_);
  if (!handle.ok()) {
    if (observer != nullptr) observer->OnRejected(ToGrpcStatus(handle.status()));
    finish_called_ = true;
    Finish(ToGrpcStatus(handle.status()));
    return;
  }
  handle_ = *std::move(handle);
}

void GenerateReactor::Deliver(RequestUpdate update) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finish_called_) return;
  pending_.mutable_text()->append(update.text);
  // The encoded size, roughly: a varint id, and per logprob entry an id and a float.
  constexpr int64_t kIdBytes = 5, kLogprobBytes = 12;
  pending_bytes_ += update.text.size();
  for (GeneratedToken& token : update.tokens) {
    pending_.add_token_ids(token.token_id);
    pending_bytes_ += kIdBytes;
    if (logprobs_) {
      pending_bytes_ += kLogprobBytes * static_cast<int64_t>(1 + token.top.size());
      v1::GeneratedTokenLogprobs* logprobs = pending_.add_logprobs();
      logprobs->set_token_id(token.token_id);
      logprobs->set_logprob(token.logprob);
      for (const TokenLogprob& alt : token.top) {
        v1::TokenLogprob* top = logprobs->add_top();
        top->set_token_id(alt.token_id);
        top->set_logprob(alt.logprob);
      }
    }
  }
  has_pending_ = has_pending_ || !update.text.empty() || !update.tokens.empty();
  if (update.final) {
    final_received_ = true;
    final_status_ = ToGrpcStatus(update.status);
    if (update.status.ok() && update.finish_reason) {
      pending_.set_finish_reason(ToProtoFinishReason(*update.finish_reason));
      pending_.mutable_usage()->set_prompt_tokens(update.prompt_tokens);
      pending_.mutable_usage()->set_completion_tokens(update.completion_tokens);
      pending_.mutable_usage()->set_cached_prompt_tokens(update.cached_prompt_tokens);
      if (!update.state.empty()) pending_.set_state(std::move(update.state));
      has_pending_ = true;
    }
    // Ended in error while the client reads nothing (a stall, or a deadline or shutdown
    // meanwhile): the write in flight may never complete, so finish now; a client that
    // reads again gets what was in flight, then the status.
    if (!update.status.ok() && paused_ && write_in_flight_) {
      pending_.Clear();
      has_pending_ = false;
      finish_called_ = true;
      Finish(final_status_);
      return;
    }
  } else if (!paused_ && pending_bytes_ >= stream_buffer_bytes_) {
    paused_ = true;  // the client is not keeping up: stop generating until a write completes
    handle_->Pause();
  }
  WriteOrFinishLocked();
}

void GenerateReactor::WriteOrFinishLocked() {
  if (write_in_flight_ || finish_called_) return;
  if (has_pending_) {
    pending_.set_request_id(request_id_);
    in_flight_ = std::move(pending_);
    pending_.Clear();
    has_pending_ = false;
    pending_bytes_ = 0;
    if (paused_) {
      paused_ = false;
      handle_->Resume();
    }
    write_in_flight_ = true;
    StartWrite(&in_flight_);
    return;
  }
  if (final_received_) {
    finish_called_ = true;
    Finish(final_status_);
  }
}

void GenerateReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_in_flight_ = false;
  if (!ok) {
    // The client is gone: stop generating; OnCancel/OnDone follow.
    if (handle_ != nullptr) handle_->Cancel();
    if (!finish_called_) {
      finish_called_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the stream could not be written"));
    }
    return;
  }
  WriteOrFinishLocked();
}

void GenerateReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (handle_ != nullptr) handle_->Cancel();
}

void GenerateReactor::OnDone() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (handle_ != nullptr) handle_->Cancel();  // no-op when already finished
  }
  sink_->Detach();
  delete this;
}

}  // namespace glaserve
