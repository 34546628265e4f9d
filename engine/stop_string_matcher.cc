#include "engine/stop_string_matcher.h"

#include <algorithm>
#include <utility>

#include "engine/check.h"

namespace glaserve {

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const std::string& stop : stops_) {
    CHECK(!stop.empty()) << "StopStringMatcher: empty stop string";
    max_stop_length_ = std::max(max_stop_length_, stop.size());
  }
}

StopStringMatcher::Result StopStringMatcher::Append(std::string_view text) {
  CHECK(!stopped_) << "StopStringMatcher::Append after a stop string matched";
  pending_.append(text);
  // pending_ only ever keeps a possible stop prefix, so a match spanning pieces
  // starts inside it and whole-buffer search finds it.
  size_t match = std::string::npos;
  for (const std::string& stop : stops_) match = std::min(match, pending_.find(stop));
  Result result;
  if (match != std::string::npos) {
    result.emit = pending_.substr(0, match);
    result.stopped = stopped_ = true;
    pending_.clear();
    return result;
  }
  const size_t emit_length = pending_.size() - HeldBackLength();
  result.emit = pending_.substr(0, emit_length);
  pending_.erase(0, emit_length);
  return result;
}

std::string StopStringMatcher::Flush() { return std::exchange(pending_, std::string()); }

size_t StopStringMatcher::HeldBackLength() const {
  if (stops_.empty()) return 0;
  // Try the earliest start first: the first suffix that is a stop prefix is the longest.
  const size_t max_held = std::min(pending_.size(), max_stop_length_ - 1);
  for (size_t start = pending_.size() - max_held; start < pending_.size(); ++start) {
    const std::string_view suffix = std::string_view(pending_).substr(start);
    for (const std::string& stop : stops_) {
      if (stop.size() > suffix.size() && stop.compare(0, suffix.size(), suffix) == 0) {
        return suffix.size();
      }
    }
  }
  return 0;
}

}  // namespace glaserve
