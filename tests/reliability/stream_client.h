// Generate streams driven from the client side the way misbehaving clients drive them:
// cancelled after some tokens or at once, with short deadlines, stalled (not reading),
// slow. Many run at once on gRPC's callback API (no thread per stream); each records
// what it got and when.
#ifndef GLASERVE_TESTS_RELIABILITY_STREAM_CLIENT_H_
#define GLASERVE_TESTS_RELIABILITY_STREAM_CLIENT_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "glaserve/v1/glaserve.grpc.pb.h"

namespace glaserve::testing {

// What one stream does.
struct StreamPlan {
  v1::GenerateRequest request;
  // Cancel (ClientContext::TryCancel) once this many tokens arrived; 0 cancels right
  // after the call starts; nullopt never cancels.
  std::optional<int64_t> cancel_after_tokens;
  std::optional<absl::Duration> deadline;  // from the start of the call
  // Stop reading after this many responses, until Resume(); nullopt reads to the end.
  std::optional<int> stall_after_responses;
  bool cancel_when_stalled = false;  // then cancel instead of waiting for Resume()
  // RunUsers only: read again this long after the stall.
  absl::Duration resume_after = absl::ZeroDuration();
  absl::Duration read_delay = absl::ZeroDuration();  // pause before each next read (a slow reader)
};

struct StreamOutcome {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message;
  int64_t num_tokens = 0;
  int num_responses = 0;
  std::string text;
  std::vector<int32_t> token_ids;
  bool cancelled_by_client = false;
  v1::FinishReason finish_reason = v1::FINISH_REASON_UNSPECIFIED;  // of the last response
  absl::Duration duration;  // start to status
  // Gaps between consecutive responses, from the second response on (a response per
  // token when the client keeps up).
  std::vector<absl::Duration> gaps;
};

class Stream : public grpc::ClientReadReactor<v1::GenerateResponse> {
 public:
  // `on_done` runs on a gRPC thread when the status arrived.
  Stream(StreamPlan plan, std::function<void()> on_done = nullptr);

  void Start(v1::TextGeneration::Stub& stub);
  // Reads again after a stall.
  void Resume();
  // Waits until the stream stalled as planned (true) or ended (false).
  bool WaitStalled(absl::Duration timeout);
  // Waits until the status arrived; false on timeout.
  bool WaitDone(absl::Duration timeout);
  const StreamOutcome& outcome() const { return outcome_; }  // after WaitDone

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  StreamPlan plan_;
  std::function<void()> on_done_;
  grpc::ClientContext context_;
  v1::GenerateResponse response_;
  absl::Time start_;
  absl::Time last_response_;
  StreamOutcome outcome_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stalled_ = false;  // guarded by mutex_
  bool done_ = false;     // guarded by mutex_
};

// A channel whose streams have small, fixed HTTP/2 receive windows (no BDP growth), so
// that a client that stops reading backs up to the server after kilobytes, not megabytes.
std::shared_ptr<grpc::Channel> SmallWindowChannel(const std::string& address);

// Runs `plans` over `channel` with at most `max_in_flight` streams at a time, starting
// the next as soon as one ends; returns the outcomes in plan order.
std::vector<StreamOutcome> RunStreams(const std::shared_ptr<grpc::Channel>& channel,
                                      std::vector<StreamPlan> plans, int max_in_flight);
// The same over a default channel to `address`.
std::vector<StreamOutcome> RunStreams(const std::string& address, std::vector<StreamPlan> plans,
                                      int max_in_flight);

// Closed-loop load: `num_users` clients, each sending one stream after another (plan
// from `make_plan(request_index)`) until `duration` passed, and waiting `backoff` after a
// refusal (RESOURCE_EXHAUSTED) as a polite client does. Returns every outcome, indexed
// like the plans. `make_plan` is called under a lock.
std::vector<StreamOutcome> RunUsers(const std::shared_ptr<grpc::Channel>& channel, int num_users,
                                    absl::Duration duration, const std::function<StreamPlan(int64_t)>& make_plan,
                                    absl::Duration backoff);

// Counts of outcomes by status code, e.g. "OK=12 CANCELLED=3".
std::string CountByCode(const std::vector<StreamOutcome>& outcomes);
int64_t CountCode(const std::vector<StreamOutcome>& outcomes, grpc::StatusCode code);

// The q-quantile (0..1) of `values` in milliseconds; 0 when empty.
double QuantileMs(std::vector<absl::Duration> values, double q);

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_RELIABILITY_STREAM_CLIENT_H_
