#include "loadtest/workload.h"

#include <algorithm>

namespace glaserve::loadtest {

namespace {
// Seed streams: requests use DeriveSeed(seed, index); the shared prefix uses this one,
// far above any request index.
constexpr uint64_t kPrefixStream = 1ULL << 62;
}  // namespace

Workload::Workload(WorkloadOptions options, int32_t vocab_size, std::vector<int32_t> avoid_ids)
    : options_(std::move(options)), vocab_size_(vocab_size), avoid_ids_(std::move(avoid_ids)) {
  // Avoiding ids is only possible when some are left.
  std::sort(avoid_ids_.begin(), avoid_ids_.end());
  avoid_ids_.erase(std::unique(avoid_ids_.begin(), avoid_ids_.end()), avoid_ids_.end());
  std::erase_if(avoid_ids_, [&](int32_t id) { return id < 0 || id >= vocab_size_; });
  if (static_cast<int32_t>(avoid_ids_.size()) >= vocab_size_) avoid_ids_.clear();
  Random random(DeriveSeed(options_.seed, kPrefixStream));
  prefix_ids_.resize(std::max(0, options_.shared_prefix_tokens));
  for (int32_t& id : prefix_ids_) id = RandomTokenId(random);
}

RequestSpec Workload::Spec(int64_t index) const {
  Random random(DeriveSeed(options_.seed, static_cast<uint64_t>(index)));
  RequestSpec spec;
  spec.index = index;
  spec.prompt_tokens = std::max(options_.prompt_lengths.Sample(random), options_.shared_prefix_tokens);
  spec.max_tokens = options_.output_lengths.Sample(random);
  spec.prompt_seed = random.NextBits();
  spec.sampling_seed = random.NextBits();
  return spec;
}

std::vector<int32_t> Workload::PromptTokenIds(const RequestSpec& spec) const {
  std::vector<int32_t> ids(prefix_ids_.begin(), prefix_ids_.end());
  ids.reserve(std::max<size_t>(ids.size(), spec.prompt_tokens));
  Random random(spec.prompt_seed);
  while (static_cast<int32_t>(ids.size()) < spec.prompt_tokens) ids.push_back(RandomTokenId(random));
  return ids;
}

int32_t Workload::RandomTokenId(Random& random) const {
  // Draw among the allowed ids, then step over the avoided ones below it (sorted).
  int32_t id = static_cast<int32_t>(random.UniformInt(0, vocab_size_ - 1 - static_cast<int32_t>(avoid_ids_.size())));
  for (int32_t avoided : avoid_ids_) {
    if (avoided <= id) ++id;
  }
  return id;
}

}  // namespace glaserve::loadtest
