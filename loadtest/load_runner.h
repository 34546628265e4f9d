// Drives the streams of one load level and collects what they saw. The closed loop starts
// a stream from the completion callback of the one before; the open loop's sender sleeps
// until each arrival time. Either way only gRPC's callback threads and one waiting thread
// run, however many streams are in flight.
#ifndef GLASERVE_LOADTEST_LOAD_RUNNER_H_
#define GLASERVE_LOADTEST_LOAD_RUNNER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "glaserve/v1/glaserve.grpc.pb.h"
#include "loadtest/generate_call.h"
#include "loadtest/load_level.h"
#include "loadtest/stream_record.h"

namespace glaserve::loadtest {

// A request ready to send, and the record of what its stream must show.
struct PreparedRequest {
  v1::GenerateRequest request;
  StreamRecord record;
};

// What a level produced.
struct LevelRun {
  LoadLevel level;
  std::vector<StreamRecord> records;  // in completion order
  // From the first send to the last completion.
  Clock::time_point start;
  Clock::time_point end;
  Clock::time_point last_send;
  // Open loop: when the last request was due, and the worst delay of a send after it.
  Clock::time_point last_scheduled;
  double max_send_lag_seconds = 0;

  double duration_seconds() const { return std::chrono::duration<double>(end - start).count(); }
};

class LoadRunner {
 public:
  // Builds request number `index`; called from several threads.
  using RequestMaker = std::function<PreparedRequest(int64_t index)>;

  // Requests go round-robin over `stubs` (one per connection).
  LoadRunner(std::vector<std::unique_ptr<v1::TextGeneration::Stub>> stubs, CallOptions options,
             RequestMaker make_request);

  // Runs `level` to the end, including streams still in flight when sending stops.
  // Request numbers continue from the previous Run, so every level sends new prompts.
  LevelRun Run(const LoadLevel& level, uint64_t arrival_seed);

  // Once *flag is true no new request is sent; streams in flight still finish. For
  // Ctrl-C: the run so far is still reported.
  void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }

 private:
  struct LevelState;

  // Claims the next request number if the level may still send; false when it is over.
  bool Claim(LevelState& state, int64_t& index);
  void Send(LevelState& state, int64_t index, Clock::time_point scheduled);
  void OnStreamDone(LevelState& state, StreamRecord record);
  void RunClosedLoop(LevelState& state);
  void RunOpenLoop(LevelState& state, uint64_t arrival_seed);

  std::vector<std::unique_ptr<v1::TextGeneration::Stub>> stubs_;
  CallOptions options_;
  RequestMaker make_request_;
  const std::atomic<bool>* stop_flag_ = nullptr;
  int64_t next_index_ = 0;  // guarded by the running level's mutex
};

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_LOAD_RUNNER_H_
