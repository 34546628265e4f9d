#include "tests/reliability/stream_client.h"

#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace glaserve::testing {

Stream::Stream(StreamPlan plan, std::function<void()> on_done)
    : plan_(std::move(plan)), on_done_(std::move(on_done)) {}

void Stream::Start(v1::TextGeneration::Stub& stub) {
  start_ = absl::Now();
  last_response_ = start_;
  if (plan_.deadline) context_.set_deadline(absl::ToChronoTime(start_ + *plan_.deadline));
  stub.async()->Generate(&context_, &plan_.request, this);
  StartRead(&response_);
  StartCall();
  if (plan_.cancel_after_tokens == 0) {
    outcome_.cancelled_by_client = true;
    context_.TryCancel();
  }
}

void Stream::OnReadDone(bool ok) {
  if (!ok) return;  // the status follows in OnDone
  const absl::Time now = absl::Now();
  if (outcome_.num_responses > 0) outcome_.gaps.push_back(now - last_response_);
  last_response_ = now;
  ++outcome_.num_responses;
  outcome_.num_tokens += response_.token_ids_size();
  outcome_.text += response_.text();
  if (response_.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) outcome_.finish_reason = response_.finish_reason();
  outcome_.token_ids.insert(outcome_.token_ids.end(), response_.token_ids().begin(), response_.token_ids().end());
  if (plan_.cancel_after_tokens && !outcome_.cancelled_by_client &&
      outcome_.num_tokens >= *plan_.cancel_after_tokens) {
    outcome_.cancelled_by_client = true;
    context_.TryCancel();
  }
  if (plan_.stall_after_responses && outcome_.num_responses == *plan_.stall_after_responses) {
    if (plan_.cancel_when_stalled) {
      if (!outcome_.cancelled_by_client) {
        outcome_.cancelled_by_client = true;
        context_.TryCancel();
      }
    } else {
      AddHold();  // Resume() reads from outside a reaction: keep the call open until then
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stalled_ = true;
    changed_.notify_all();
    return;  // no read until Resume()
  }
  if (plan_.read_delay > absl::ZeroDuration()) absl::SleepFor(plan_.read_delay);
  StartRead(&response_);
}

void Stream::Resume() {
  StartRead(&response_);
  RemoveHold();
}

void Stream::OnDone(const grpc::Status& status) {
  outcome_.code = status.error_code();
  outcome_.message = status.error_message();
  outcome_.duration = absl::Now() - start_;
  if (on_done_) on_done_();
  // Last: a waiter may destroy the stream as soon as it sees done_.
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  changed_.notify_all();
}

bool Stream::WaitStalled(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (timeout == absl::InfiniteDuration()) {  // wait_for would overflow
    changed_.wait(lock, [this] { return stalled_ || done_; });
  } else {
    changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return stalled_ || done_; });
  }
  return stalled_;
}

bool Stream::WaitDone(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (timeout == absl::InfiniteDuration()) {  // wait_for would overflow
    changed_.wait(lock, [this] { return done_; });
    return true;
  }
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return done_; });
}

std::shared_ptr<grpc::Channel> SmallWindowChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

std::vector<StreamOutcome> RunStreams(const std::string& address, std::vector<StreamPlan> plans,
                                      int max_in_flight) {
  return RunStreams(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), std::move(plans),
                    max_in_flight);
}

std::vector<StreamOutcome> RunStreams(const std::shared_ptr<grpc::Channel>& channel,
                                      std::vector<StreamPlan> plans, int max_in_flight) {
  auto stub = v1::TextGeneration::NewStub(channel);
  std::mutex mutex;
  std::condition_variable slot_free;
  int in_flight = 0;
  std::vector<std::unique_ptr<Stream>> streams;
  streams.reserve(plans.size());
  for (StreamPlan& plan : plans) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      slot_free.wait(lock, [&] { return in_flight < max_in_flight; });
      ++in_flight;
    }
    streams.push_back(std::make_unique<Stream>(std::move(plan), [&] {
      std::lock_guard<std::mutex> lock(mutex);
      --in_flight;
      slot_free.notify_all();
    }));
    streams.back()->Start(*stub);
  }
  // OnDone runs the callback (which refers to locals here) before it marks the stream done.
  std::vector<StreamOutcome> outcomes;
  for (auto& stream : streams) {
    stream->WaitDone(absl::InfiniteDuration());
    outcomes.push_back(stream->outcome());
  }
  return outcomes;
}

std::vector<StreamOutcome> RunUsers(const std::shared_ptr<grpc::Channel>& channel, int num_users,
                                    absl::Duration duration, const std::function<StreamPlan(int64_t)>& make_plan,
                                    absl::Duration backoff) {
  auto stub = v1::TextGeneration::NewStub(channel);
  const absl::Time end = absl::Now() + duration;
  std::mutex mutex;
  int64_t next_index = 0;  // guarded by mutex
  std::vector<StreamOutcome> outcomes;  // guarded by mutex
  std::vector<std::thread> users;
  for (int u = 0; u < num_users; ++u) {
    users.emplace_back([&] {
      while (absl::Now() < end) {
        StreamPlan plan;
        int64_t index;
        {
          std::lock_guard<std::mutex> lock(mutex);
          index = next_index++;
          plan = make_plan(index);
        }
        const bool stalls = plan.stall_after_responses && !plan.cancel_when_stalled;
        const absl::Duration resume_after = plan.resume_after;
        Stream stream(std::move(plan));
        stream.Start(*stub);
        if (stalls && stream.WaitStalled(absl::InfiniteDuration())) {
          absl::SleepFor(resume_after);
          stream.Resume();
        }
        stream.WaitDone(absl::InfiniteDuration());
        const bool refused = stream.outcome().code == grpc::StatusCode::RESOURCE_EXHAUSTED;
        {
          std::lock_guard<std::mutex> lock(mutex);
          if (static_cast<int64_t>(outcomes.size()) <= index) outcomes.resize(index + 1);
          outcomes[index] = stream.outcome();
        }
        if (refused) absl::SleepFor(backoff);
      }
    });
  }
  for (std::thread& user : users) user.join();
  return outcomes;
}

std::string CountByCode(const std::vector<StreamOutcome>& outcomes) {
  static const char* kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                 "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                 "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  std::map<int, int64_t> counts;
  for (const StreamOutcome& outcome : outcomes) ++counts[outcome.code];
  std::string text;
  for (auto [code, count] : counts) {
    absl::StrAppend(&text, text.empty() ? "" : " ", code >= 0 && code < 17 ? kNames[code] : "?", "=", count);
  }
  return text;
}

int64_t CountCode(const std::vector<StreamOutcome>& outcomes, grpc::StatusCode code) {
  return std::count_if(outcomes.begin(), outcomes.end(), [code](const StreamOutcome& o) { return o.code == code; });
}

double QuantileMs(std::vector<absl::Duration> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  return absl::ToDoubleMilliseconds(values[index]);
}

}  // namespace glaserve::testing
