#include "engine/engine.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/check.h"

namespace glaserve {
namespace {

StateIdentity IdentityOf(const LoadedModel& model) {
  const ModelConfig& c = model.config;
  return {model.fingerprint, model.runner->state_dtype_name(), c.num_hidden_layers, c.num_kv_heads,
          c.head_v_dim,      c.head_k_dim,  model.runner->state_bytes_per_sequence(), c.vocab_size};
}

}  // namespace

Engine::Engine(LoadedModel model, EngineOptions options)
    : model_(std::move(model)),
      options_(options),
      scheduler_(model_.runner->num_slots(), options.max_batch_tokens),
      reuse_(*model_.runner, IdentityOf(model_), options.reuse) {
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
  if (absl::Status s = reuse_.CheckRequest(request); !s.ok()) return s;
  // A continuation may send no new tokens: the kept state's pending token is fed then.
  const bool continues = request.resume_session || !request.initial_state.empty();
  if (request.prompt_token_ids.empty() && !continues) {
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
  // Here, not on the engine thread, so that a bad blob or session is refused before the
  // request is queued (and a 50 MB blob's checksum is not the engine's time).
  absl::StatusOr<std::shared_ptr<const SavedState>> initial_state = reuse_.Acquire(request, absl::Now());
  if (!initial_state.ok()) return initial_state.status();
  request.initial_state = std::string();  // parsed: do not hold the blob twice while queued
  if (*initial_state != nullptr && (*initial_state)->has_pending_token()) {
    request.prompt_token_ids.insert(request.prompt_token_ids.begin(), (*initial_state)->pending_token_id);
  }
  const std::string session_id = request.session_id;
  auto handle = std::make_shared<RequestHandle>();
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t capacity = static_cast<int64_t>(num_slots()) + options_.max_waiting;
    if (draining_ || stopping_) {
      refused = absl::UnavailableError("the server is draining; retry on another replica");
    } else if (num_outstanding_ >= capacity) {
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "all ", num_slots(), " state slots are busy and ", options_.max_waiting,
          " requests are already waiting (--max-waiting); retry later"));
    } else {
      ++num_outstanding_;
      incoming_.push_back({std::move(request), std::move(sink), handle, absl::Now(), *std::move(initial_state)});
      num_waiting_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (!refused.ok()) {
    reuse_.AbandonSession(session_id, absl::Now());
    return refused;
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
    bool idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      idle = !stopping_ && incoming_.empty() && scheduler_.num_running() + scheduler_.num_waiting() == 0;
    }
    // Nothing left to overlap the prefix cache's copies with: finish them before sleeping,
    // so the next request finds them.
    if (idle) reuse_.FinishSnapshots();
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
    request->initial_state = std::move(in.initial_state);
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
  std::vector<ActiveRequest*> admitted = scheduler_.Admit();
  // Lookups must see every prefix state copied so far.
  if (!admitted.empty()) reuse_.FinishSnapshots();
  for (ActiveRequest* request : admitted) {
    reuse_.PrepareSlot(*request);
    request->timings.admitted = start;
  }
  // Before any token of this step is delivered: a client that has its first token must
  // see its slot counted.
  PublishCounts();
  ScheduledStep step = scheduler_.Schedule();
  if (step.empty()) {
    reuse_.FinishSnapshots();
    return false;
  }

  const int64_t vocab = model_.config.vocab_size;
  const bool on_device = model_.runner->samples_on_device();
  if (on_device) {
    // Logits stay on the device: each sequence hands over what its sampler needs.
    sampling_storage_.resize(step.entries.size());
    sampling_requests_.assign(step.entries.size(), {});
    for (size_t i = 0; i < step.entries.size(); ++i) {
      if (step.entries[i].want_logits) {
        sampling_requests_[i] = step.entry_requests[i]->seq.DeviceSampling(sampling_storage_[i]);
      }
    }
    sampled_.assign(step.entries.size(), {});
    model_.runner->ForwardAndSample(step.entries, sampling_requests_, sampled_);
  } else {
    logits_.resize(step.entries.size() * vocab);
    model_.runner->Forward(step.entries, logits_);
  }
  reuse_.AfterForward(step.entry_requests);
  const absl::Time now = absl::Now();
  for (size_t i = 0; i < step.entries.size(); ++i) {
    if (!step.entries[i].want_logits) continue;
    ActiveRequest& request = *step.entry_requests[i];
    SequenceDelta delta =
        on_device ? request.seq.AcceptToken(std::move(sampled_[i]))
                  : request.seq.SampleNext(std::span<const float>(logits_).subspan(i * vocab, vocab));
    if (request.timings.first_token == absl::InfinitePast()) request.timings.first_token = now;
    if (delta.finish_reason) {
      // The slot still holds the state after the reply; it is freed in Retire.
      if (request.wants_final_state()) reuse_.CaptureFinalState(request);
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
                       static_cast<int32_t>(step.entries.size()), reuse_.TakeStats()});
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
    update.prompt_tokens = request->num_client_prompt_tokens();
    update.completion_tokens = static_cast<int32_t>(request->seq.output_token_ids().size());
    request->timings.finished = now;
    update.timings = request->timings;
    reuse_.Retire(*request, update, now);
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
