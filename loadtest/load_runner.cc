#include "loadtest/load_runner.h"

#include <algorithm>
#include <thread>

#include "loadtest/arrival_process.h"

namespace glaserve::loadtest {

struct LoadRunner::LevelState {
  LoadLevel level;
  Clock::time_point stop_sending_at = Clock::time_point::max();
  std::mutex mutex;
  std::condition_variable changed;
  int64_t num_sent = 0;       // guarded by mutex
  int64_t num_in_flight = 0;  // guarded by mutex
  LevelRun run;               // guarded by mutex
};

LoadRunner::LoadRunner(std::vector<std::unique_ptr<v1::TextGeneration::Stub>> stubs, CallOptions options,
                       RequestMaker make_request)
    : stubs_(std::move(stubs)), options_(std::move(options)), make_request_(std::move(make_request)) {}

LevelRun LoadRunner::Run(const LoadLevel& level, uint64_t arrival_seed) {
  LevelState state;
  state.level = level;
  state.run.level = level;
  state.run.start = Clock::now();
  if (level.num_requests == 0) {
    state.stop_sending_at = state.run.start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(level.duration_seconds));
  }
  if (level.open_loop()) {
    RunOpenLoop(state, arrival_seed);
  } else {
    RunClosedLoop(state);
  }
  std::unique_lock<std::mutex> lock(state.mutex);
  state.changed.wait(lock, [&] { return state.num_in_flight == 0; });
  state.run.end = Clock::now();
  return std::move(state.run);
}

bool LoadRunner::Claim(LevelState& state, int64_t& index) {
  const LoadLevel& level = state.level;
  if (stop_flag_ != nullptr && stop_flag_->load()) return false;
  if (level.num_requests > 0 ? state.num_sent >= level.num_requests : Clock::now() >= state.stop_sending_at) {
    return false;
  }
  ++state.num_sent;
  ++state.num_in_flight;
  index = next_index_++;
  return true;
}

void LoadRunner::Send(LevelState& state, int64_t index, Clock::time_point scheduled) {
  PreparedRequest prepared = make_request_(index);
  prepared.record.index = index;
  prepared.record.scheduled = scheduled;
  v1::TextGeneration::Stub& stub = *stubs_[index % stubs_.size()];
  GenerateCall::Start(stub, options_, std::move(prepared.request), std::move(prepared.record),
                      [this, &state](StreamRecord record) { OnStreamDone(state, std::move(record)); });
}

void LoadRunner::OnStreamDone(LevelState& state, StreamRecord record) {
  int64_t index = 0;
  bool send_next = false;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.run.last_send = std::max(state.run.last_send, record.sent);
    state.run.records.push_back(std::move(record));
    // Closed loop: a finished stream makes room for the next one. Claimed before this
    // one leaves the in-flight count, so Run cannot see zero in between.
    if (!state.level.open_loop()) send_next = Claim(state, index);
    --state.num_in_flight;
    // Under the lock: once the count reaches zero, Run may return and destroy `state`.
    state.changed.notify_all();
  }
  if (send_next) Send(state, index, Clock::now());
}

void LoadRunner::RunClosedLoop(LevelState& state) {
  std::vector<int64_t> indices;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    int64_t index;
    for (int32_t i = 0; i < std::max(1, state.level.concurrency) && Claim(state, index); ++i) {
      indices.push_back(index);
    }
  }
  for (int64_t index : indices) Send(state, index, Clock::now());
}

void LoadRunner::RunOpenLoop(LevelState& state, uint64_t arrival_seed) {
  ArrivalProcess arrivals(state.level.rate, state.level.burstiness, arrival_seed);
  Clock::time_point due = state.run.start;
  for (int64_t k = 0;; ++k) {
    if (k > 0) {
      due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(arrivals.NextGapSeconds()));
    }
    if (state.level.num_requests == 0 && due >= state.stop_sending_at) break;
    // In short naps, so that a stop request is seen even at a low rate.
    while (Clock::now() < due && !(stop_flag_ != nullptr && stop_flag_->load())) {
      std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(100)));
    }
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(state.mutex);
      if (state.level.concurrency > 0) {
        state.changed.wait(lock, [&] { return state.num_in_flight < state.level.concurrency; });
      }
      if (!Claim(state, index)) break;
      state.run.last_scheduled = due;
      state.run.max_send_lag_seconds =
          std::max(state.run.max_send_lag_seconds, std::chrono::duration<double>(Clock::now() - due).count());
    }
    Send(state, index, due);
  }
}

}  // namespace glaserve::loadtest
