#include "engine/state_reuse.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/check.h"

namespace glaserve {

StateReuse::StateReuse(ModelRunner& runner, StateIdentity identity, StateReuseOptions options)
    : runner_(runner),
      identity_(std::move(identity)),
      options_(options),
      sessions_(options.session_bytes, options.session_ttl) {
  CHECK_GE(options_.prefix_cache_bytes, 0);
  CHECK_GE(options_.prefix_cache_chunk_tokens, 0);
  CHECK_GE(options_.prefix_cache_min_tokens, 1) << "a prefix state needs at least one token";
  if (options_.prefix_cache_bytes > 0) prefix_cache_ = std::make_unique<PrefixStateCache>(options_.prefix_cache_bytes);
}

absl::Status StateReuse::CheckRequest(const GenerationRequest& request) const {
  if (request.session_id.size() > kMaxSessionIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("session_id: ", request.session_id.size(),
                                                   " bytes is longer than the limit of ", kMaxSessionIdBytes));
  }
  if (request.resume_session && request.session_id.empty()) {
    return absl::InvalidArgumentError("resume_session: set, but session_id is empty (which session to resume?)");
  }
  if (request.resume_session && !request.initial_state.empty()) {
    return absl::InvalidArgumentError(
        "initial_state and resume_session are both set: continue from one state or the other");
  }
  if (!request.session_id.empty() && !sessions_.Fits(identity_.state_bytes)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session_id: sessions are off on this server (--session-bytes=", options_.session_bytes,
        " does not hold one state of ", identity_.state_bytes, " bytes)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const SavedState>> StateReuse::Acquire(const GenerationRequest& request,
                                                                      absl::Time now) {
  std::shared_ptr<const SavedState> state;
  if (!request.initial_state.empty()) {
    absl::StatusOr<SavedState> parsed = ParseState(identity_, request.initial_state);
    if (!parsed.ok()) return parsed.status();
    if (!parsed->has_pending_token() && request.prompt_token_ids.empty()) {
      return absl::InvalidArgumentError("prompt: empty, and initial_state has no pending token to continue from");
    }
    state = std::make_shared<const SavedState>(*std::move(parsed));
  }
  if (!request.session_id.empty()) {
    absl::StatusOr<std::shared_ptr<const SavedState>> held =
        sessions_.Acquire(request.session_id, request.resume_session, now);
    if (!held.ok()) return held.status();
    if (request.resume_session) state = *std::move(held);
  }
  return state;
}

void StateReuse::AbandonSession(const std::string& session_id, absl::Time now) {
  if (!session_id.empty()) sessions_.Release(session_id, nullptr, now);
}

void StateReuse::PrepareSlot(ActiveRequest& request) {
  const int32_t slot = *request.slot;
  if (request.initial_state != nullptr) {
    // The slot's tokens are a history this server has not seen: no prefix caching.
    runner_.WriteSlotState(slot, request.initial_state->bytes);
    return;
  }
  if (prefix_cache_ == nullptr) {
    runner_.ResetSlot(slot);
    return;
  }
  const std::vector<int32_t>& prompt = request.seq.prompt_token_ids();
  // At least the last prompt token must go through the model: its logits are sampled.
  std::optional<PrefixStateCache::Hit> hit = prefix_cache_->Lookup(prompt, prompt.size() - 1);
  int64_t num_cached = 0;
  if (hit) {
    runner_.WriteSlotState(slot, hit->state->bytes);
    num_cached = hit->num_tokens;
    request.seq.SkipPromptTokens(num_cached);
    request.num_cached_prompt_tokens = static_cast<int32_t>(num_cached);
    ++stats_.num_hits;
    stats_.num_tokens_saved += num_cached;
  } else {
    runner_.ResetSlot(slot);
    ++stats_.num_misses;
  }
  request.snapshot_positions = ChooseSnapshotPositions(prompt, num_cached);
}

std::deque<int64_t> StateReuse::ChooseSnapshotPositions(std::span<const int32_t> prompt, int64_t num_cached) const {
  const int64_t n = static_cast<int64_t>(prompt.size());
  std::vector<int64_t> candidates = {
      // The whole prompt: the next turn of a conversation resent in full starts with it.
      n,
      // Where it branches off a cached prompt: the next prompt that shares that much hits
      // exactly there. One token short of the end when it shares everything, since a hit
      // must leave a token to prefill.
      std::min(prefix_cache_->LongestSharedPrefix(prompt), n - 1),
  };
  // The last chunk boundary: prompts that differ only in a short tail share it.
  const int64_t chunk = options_.prefix_cache_chunk_tokens;
  if (chunk > 0) candidates.push_back((n - 1) / chunk * chunk);
  std::sort(candidates.begin(), candidates.end());
  std::deque<int64_t> positions;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const int64_t p = candidates[i];
    if (p <= num_cached || p < options_.prefix_cache_min_tokens || (i > 0 && p == candidates[i - 1])) continue;
    if (prefix_cache_->Contains(prompt.first(p))) continue;
    positions.push_back(p);
  }
  return positions;
}

void StateReuse::AfterForward(std::span<ActiveRequest* const> stepped) {
  FinishSnapshots();
  if (prefix_cache_ == nullptr) return;
  for (ActiveRequest* request : stepped) {
    if (request->snapshot_positions.empty()) continue;
    const int64_t position = request->snapshot_positions.front();
    if (position != request->seq.num_prefilled()) continue;
    request->snapshot_positions.pop_front();
    std::span<const int32_t> prefix = std::span(request->seq.prompt_token_ids()).first(position);
    if (prefix_cache_->Contains(prefix)) continue;  // a request beside it got there first
    auto state = std::make_shared<SavedState>();
    state->bytes.resize(identity_.state_bytes);
    state->num_tokens = position;
    runner_.StartReadSlotState(*request->slot, state->bytes);
    pending_.push_back({std::vector<int32_t>(prefix.begin(), prefix.end()), std::move(state)});
  }
}

void StateReuse::FinishSnapshots() {
  if (pending_.empty()) return;
  runner_.FinishSlotStateReads();
  for (PendingSnapshot& snapshot : pending_) prefix_cache_->Insert(std::move(snapshot.prefix), std::move(snapshot.state));
  pending_.clear();
  PublishCacheSize();
}

void StateReuse::CaptureFinalState(ActiveRequest& request) {
  const std::vector<int32_t>& output = request.seq.output_token_ids();
  CHECK(!output.empty() && request.slot.has_value()) << "no state to capture";
  auto state = std::make_shared<SavedState>();
  state->bytes.resize(identity_.state_bytes);
  runner_.ReadSlotState(*request.slot, state->bytes);
  // Everything fed so far: the history behind the initial state, the prompt (whose first
  // token is that state's pending one) and every output token but the last.
  const int64_t before = request.initial_state != nullptr ? request.initial_state->num_tokens : 0;
  state->num_tokens = before + static_cast<int64_t>(request.seq.prompt_token_ids().size() + output.size()) - 1;
  state->pending_token_id = output.back();
  request.final_state = std::move(state);
}

void StateReuse::Retire(ActiveRequest& request, RequestUpdate& update, absl::Time now) {
  update.cached_prompt_tokens = request.num_cached_prompt_tokens;
  if (!request.session_id.empty()) sessions_.Release(request.session_id, request.final_state, now);
  if (request.return_state && request.final_state != nullptr) {
    update.state = SerializeState(identity_, *request.final_state);
  }
}

PrefixCacheStats StateReuse::TakeStats() { return std::exchange(stats_, {}); }

int64_t StateReuse::num_sessions(absl::Time now) const {
  sessions_.Expire(now);
  return sessions_.num_sessions();
}

void StateReuse::PublishCacheSize() {
  prefix_cache_bytes_.store(prefix_cache_->num_bytes(), std::memory_order_relaxed);
  prefix_cache_entries_.store(prefix_cache_->num_entries(), std::memory_order_relaxed);
}

}  // namespace glaserve
