#include "engine/scheduler.h"

#include <algorithm>

#include "engine/check.h"

namespace glaserve {

Scheduler::Scheduler(int32_t num_slots, int64_t max_batch_tokens)
    : pool_(num_slots), max_batch_tokens_(max_batch_tokens) {
  CHECK_GT(max_batch_tokens, 0);
}

void Scheduler::AddWaiting(std::unique_ptr<ActiveRequest> request) {
  waiting_.push_back(std::move(request));
}

std::vector<ActiveRequest*> Scheduler::Admit() {
  std::vector<ActiveRequest*> admitted;
  while (!waiting_.empty() && pool_.num_free() > 0) {
    std::unique_ptr<ActiveRequest> request = std::move(waiting_.front());
    waiting_.pop_front();
    request->slot = pool_.Allocate();
    admitted.push_back(request.get());
    running_.push_back(std::move(request));
  }
  return admitted;
}

ScheduledStep Scheduler::Schedule() {
  ScheduledStep step;
  // Decodes first: one token for every sequence past its prompt, so running streams
  // keep their pace however much prompt work is queued. A paused sequence (its client is
  // not reading) waits, holding its slot.
  for (auto& request : running_) {
    const Sequence& seq = request->seq;
    if (!seq.prefill_done() || seq.finished() || request->handle->paused()) continue;
    step.entries.push_back({*request->slot, std::span<const int32_t>(&seq.output_token_ids().back(), 1),
                            /*want_logits=*/true});
    step.entry_requests.push_back(request.get());
    ++step.num_decode_tokens;
  }
  // Then prompt work in admission (= arrival) order, within what the budget leaves.
  int64_t budget = max_batch_tokens_ - step.num_decode_tokens;
  for (auto& request : running_) {
    if (budget <= 0) break;
    Sequence& seq = request->seq;
    if (seq.prefill_done() || seq.finished()) continue;
    int64_t max_tokens = budget;
    if (!request->snapshot_positions.empty()) {
      max_tokens = std::min(max_tokens, request->snapshot_positions.front() - seq.num_prefilled());
      CHECK_GT(max_tokens, 0) << "snapshot position " << request->snapshot_positions.front() << " already passed";
    }
    std::span<const int32_t> piece = seq.TakePromptPiece(max_tokens);
    step.entries.push_back({*request->slot, piece, /*want_logits=*/seq.prefill_done()});
    step.entry_requests.push_back(request.get());
    step.num_prefill_tokens += piece.size();
    budget -= piece.size();
  }
  return step;
}

std::vector<std::unique_ptr<ActiveRequest>> Scheduler::TakeFinished() {
  std::vector<std::unique_ptr<ActiveRequest>> finished;
  auto take = [&](auto& list) {
    auto keep_end = std::stable_partition(list.begin(), list.end(),
                                          [](const auto& r) { return !r->seq.finished(); });
    for (auto it = keep_end; it != list.end(); ++it) {
      if ((*it)->slot) {
        pool_.Free(*(*it)->slot);
        (*it)->slot.reset();
      }
      finished.push_back(std::move(*it));
    }
    list.erase(keep_end, list.end());
  };
  take(waiting_);
  take(running_);
  return finished;
}

}  // namespace glaserve
