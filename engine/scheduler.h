// Decides what runs in each engine step (DESIGN.md section 5): every running sequence
// whose prompt is done decodes one token; the rest of the step's token budget goes to
// prompt work in arrival order, a long prompt being split over several steps. A waiting
// request is admitted as soon as a state slot is free. Nothing is ever preempted: a
// state never grows, so a running sequence never needs room another one holds.
//
// A request may start with part of its prompt already in its state (a prefix-cache hit,
// Sequence::SkipPromptTokens): only the rest is scheduled and counted against the budget.
// A prompt piece also ends at the request's next snapshot position, so the state there
// can be copied into the prefix cache after the step.
#ifndef GLASERVE_ENGINE_SCHEDULER_H_
#define GLASERVE_ENGINE_SCHEDULER_H_

#include <deque>
#include <memory>
#include <vector>

#include "engine/active_request.h"
#include "engine/model_runner.h"
#include "engine/state_pool.h"

namespace glaserve {

struct ScheduledStep {
  std::vector<SequenceBatchEntry> entries;
  std::vector<ActiveRequest*> entry_requests;  // entry i belongs to entry_requests[i]
  int64_t num_decode_tokens = 0;
  int64_t num_prefill_tokens = 0;

  bool empty() const { return entries.empty(); }
};

class Scheduler {
 public:
  Scheduler(int32_t num_slots, int64_t max_batch_tokens);

  void AddWaiting(std::unique_ptr<ActiveRequest> request);
  // Gives free slots to waiting requests in arrival order and returns those admitted:
  // the caller sets up each one's slot state before the next Schedule.
  std::vector<ActiveRequest*> Admit();
  // The work of one step for the running requests.
  ScheduledStep Schedule();

  // Calls `fn` on every request, waiting or running.
  template <typename Fn>
  void ForEach(Fn fn) {
    for (auto& r : waiting_) fn(*r);
    for (auto& r : running_) fn(*r);
  }
  // Removes every finished request (freeing its slot) and returns them.
  std::vector<std::unique_ptr<ActiveRequest>> TakeFinished();

  int32_t num_waiting() const { return static_cast<int32_t>(waiting_.size()); }
  int32_t num_running() const { return static_cast<int32_t>(running_.size()); }
  const StatePool& pool() const { return pool_; }

 private:
  StatePool pool_;
  int64_t max_batch_tokens_;
  std::deque<std::unique_ptr<ActiveRequest>> waiting_;  // arrival order, no slot yet
  std::vector<std::unique_ptr<ActiveRequest>> running_;  // admission order, holding slots
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SCHEDULER_H_
