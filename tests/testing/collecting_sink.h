// A RequestSink that records every update, for tests; thread-safe, with a wait for the
// final update.
#ifndef GLASERVE_TESTS_TESTING_COLLECTING_SINK_H_
#define GLASERVE_TESTS_TESTING_COLLECTING_SINK_H_

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/generation_request.h"

namespace glaserve::testing {

class CollectingSink : public RequestSink {
 public:
  void OnUpdate(RequestUpdate update) override {
    std::lock_guard<std::mutex> lock(mutex_);
    text_ += update.text;
    for (const GeneratedToken& token : update.tokens) token_ids_.push_back(token.token_id);
    ++num_updates_;
    if (update.final) {
      ++num_finals_;
      final_ = std::move(update);
      done_.notify_all();
    }
  }

  // Waits up to `timeout` for the final update; true if it came.
  bool WaitFinal(absl::Duration timeout = absl::Seconds(60)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return done_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return num_finals_ > 0; });
  }

  bool finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    return num_finals_ > 0;
  }
  std::vector<int32_t> token_ids() {
    std::lock_guard<std::mutex> lock(mutex_);
    return token_ids_;
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }
  RequestUpdate final_update() {
    std::lock_guard<std::mutex> lock(mutex_);
    return final_;
  }
  int num_finals() {
    std::lock_guard<std::mutex> lock(mutex_);
    return num_finals_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::string text_;
  std::vector<int32_t> token_ids_;
  int num_updates_ = 0;
  int num_finals_ = 0;
  RequestUpdate final_;
};

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_TESTING_COLLECTING_SINK_H_
