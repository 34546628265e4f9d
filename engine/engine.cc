#include "engine/engine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/check.h"

namespace glaserve {

Engine::Engine(LoadedModel model, EngineOptions options)
    : model_(std::move(model)),
      options_(options),
      scheduler_(model_.runner->num_slots(), options.max_batch_tokens) {
  CHECK(model_.runner != nullptr);
  CHECK_GE(options_.max_waiting, 0);
}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  CHECK(!thread_.joinable()) << "Engine::Start called twice";
  thread_ = std::thread([this] { Loop(); });
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  EndAll(absl::UnavailableError("the server is shutting down"));
}

absl::Status Engine::Validate(const GenerationRequest& request) const {
  const ModelConfig& c = model_.config;
  if (request.prompt_token_ids.empty()) {
    return absl::InvalidArgumentError("prompt: the prompt is empty (it must have at least one token)");
  }
  if (static_cast<int64_t>(request.prompt_token_ids.size()) > options_.max_prompt_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("prompt: ", request.prompt_token_ids.size(),
                                                   " tokens is longer than the limit of ",
                                                   options_.max_prompt_tokens, " (--max-prompt-tokens)"));
  }
  for (size_t i = 0; i < request.prompt_token_ids.size(); ++i) {
    const int32_t id = request.prompt_token_ids[i];
    if (id < 0 || id >= c.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("prompt_token_ids[", i, "]=", id,
                                                     " is outside the vocabulary [0, ", c.vocab_size, ")"));
    }
  }
  if (absl::Status s = ValidateSamplingParams(request.params, c.vocab_size); !s.ok()) return s;
  if (!request.params.stop.empty() && model_.tokenizer == nullptr) {
    return absl::InvalidArgumentError("sampling.stop: stop strings need a model with a tokenizer");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<RequestHandle>> Engine::Submit(GenerationRequest request,
                                                              std::shared_ptr<RequestSink> sink) {
  CHECK(sink != nullptr);
  if (absl::Status s = Validate(request); !s.ok()) return s;
  auto handle = std::make_shared<RequestHandle>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_ || stopping_) return absl::UnavailableError("the server is draining; retry on another replica");
    const int64_t capacity = static_cast<int64_t>(num_slots()) + options_.max_waiting;
    if (num_outstanding_ >= capacity) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "all ", num_slots(), " state slots are busy and ", options_.max_waiting,
          " requests are already waiting (--max-waiting); retry later"));
    }
    ++num_outstanding_;
    incoming_.push_back({std::move(request), std::move(sink), handle, absl::Now()});
    num_waiting_.fetch_add(1, std::memory_order_relaxed);
  }
  wake_.notify_one();
  return handle;
}

void Engine::StartDrain() {
  std::lock_guard<std::mutex> lock(mutex_);
  draining_ = true;
}

bool Engine::WaitIdle(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return num_outstanding_ == 0; });
}

void Engine::Loop() {
  bool worked = true;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Sleep only when nothing is queued and nothing is in flight.
      wake_.wait(lock, [this] {
        return stopping_ || !incoming_.empty() || scheduler_.num_running() + scheduler_.num_waiting() > 0;
      });
      // Requests in flight but nothing to run: all are paused. Look again shortly (for a
      // resume, a cancel, a stall) rather than spin.
      if (!worked) {
        wake_.wait_for(lock, std::chrono::milliseconds(2), [this] { return stopping_ || !incoming_.empty(); });
      }
      if (stopping_) return;
    }
    worked = Step();
  }
}

void Engine::TakeIncoming() {
  std::deque<Incoming> incoming;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    incoming.swap(incoming_);
  }
  for (Incoming& in : incoming) {
    auto request = std::make_unique<ActiveRequest>(std::move(in.request), model_.tokenizer.get(),
                                                   model_.config.eos_token_id, std::move(in.sink),
                                                   std::move(in.handle));
    request->timings = {in.arrival, absl::InfinitePast(), absl::InfinitePast(), absl::InfinitePast()};
    scheduler_.AddWaiting(std::move(request));
  }
}

void Engine::EndInterrupted(absl::Time now) {
  scheduler_.ForEach([&](ActiveRequest& r) {
    if (r.seq.finished()) return;
    if (r.handle->cancelled()) {
      r.end_status = absl::CancelledError("the request was cancelled");
    } else if (now >= r.deadline) {
      r.end_status = absl::DeadlineExceededError("the request's deadline passed");
    } else if (now - r.handle->paused_since() >= options_.stall_timeout) {
      r.end_status = absl::ResourceExhaustedError(absl::StrCat(
          "the client read nothing for ", absl::FormatDuration(options_.stall_timeout),
          " while its stream buffer was full (--stream-stall-timeout)"));
    } else {
      return;
    }
    r.last_delta = r.seq.Finish(FinishReason::kCancelled);
  });
}

bool Engine::Step() {
  const absl::Time start = absl::Now();
  TakeIncoming();
  EndInterrupted(start);
  Retire(start);
  ScheduledStep step = scheduler_.Schedule();
  for (ActiveRequest* request : step.admitted) {
    model_.runner->ResetSlot(*request->slot);
    request->timings.admitted = start;
  }
  // Before any token of this step is delivered: a client that has its first token must
  // see its slot counted.
  PublishCounts();
  if (step.empty()) return false;

  const int64_t vocab = model_.config.vocab_size;
  logits_.resize(step.entries.size() * vocab);
  model_.runner->Forward(step.entries, logits_);
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < step.entries.size(); ++i) {
    if (!step.entries[i].want_logits) continue;
    ActiveRequest& request = *step.entry_requests[i];
    SequenceDelta delta =
        request.seq.SampleNext(std::span<const float>(logits_).subspan(i * vocab, vocab));
    if (request.timings.first_token == absl::InfinitePast()) request.timings.first_token = now;
    if (delta.finish_reason) {
      request.last_delta = std::move(delta);  // goes out with the final update in Retire
    } else {
      RequestUpdate update;
      update.text = std::move(delta.text);
      update.tokens = std::move(delta.tokens);
      request.sink->OnUpdate(std::move(update));
    }
  }
  Retire(now);
  if (observer_ != nullptr) {
    observer_->OnStep({absl::Now() - start, step.num_decode_tokens, step.num_prefill_tokens,
                       static_cast<int32_t>(step.entries.size())});
  }
  return true;
}

void Engine::Retire(absl::Time now) {
  std::vector<std::unique_ptr<ActiveRequest>> finished = scheduler_.TakeFinished();
  for (auto& request : finished) {
    RequestUpdate update;
    update.text = std::move(request->last_delta.text);
    update.tokens = std::move(request->last_delta.tokens);
    update.final = true;
    update.finish_reason = request->seq.finish_reason();
    update.status = request->end_status;
    update.prompt_tokens = static_cast<int32_t>(request->seq.prompt_token_ids().size());
    update.completion_tokens = static_cast<int32_t>(request->seq.output_token_ids().size());
    request->timings.finished = now;
    update.timings = request->timings;
    request->sink->OnUpdate(std::move(update));
  }
  if (!finished.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    num_outstanding_ -= finished.size();
    if (num_outstanding_ == 0) idle_.notify_all();
  }
  PublishCounts();
}

void Engine::EndAll(const absl::Status& status) {
  TakeIncoming();
  scheduler_.ForEach([&](ActiveRequest& r) {
    if (r.seq.finished()) return;
    r.end_status = status;
    r.last_delta = r.seq.Finish(FinishReason::kCancelled);
  });
  Retire(absl::Now());
}

void Engine::PublishCounts() {
  int32_t incoming;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    incoming = static_cast<int32_t>(incoming_.size());
  }
  num_slots_used_.store(scheduler_.pool().num_used(), std::memory_order_relaxed);
  num_waiting_.store(scheduler_.num_waiting() + incoming, std::memory_order_relaxed);
  num_running_.store(scheduler_.num_running(), std::memory_order_relaxed);
}

}  // namespace glaserve
