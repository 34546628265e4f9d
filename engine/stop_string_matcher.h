// Finds stop strings in streamed text. Text that could be the start of a stop string
// is held back until the next piece decides it, so a client never sees text that is
// later retracted.
#ifndef GLASERVE_ENGINE_STOP_STRING_MATCHER_H_
#define GLASERVE_ENGINE_STOP_STRING_MATCHER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace glaserve {

class StopStringMatcher {
 public:
  struct Result {
    std::string emit;      // text safe to send now
    bool stopped = false;  // a stop string matched; `emit` ends right before it
  };

  // `stops` must be non-empty strings (ValidateSamplingParams checks this). With no
  // stops, every piece is emitted as it comes.
  explicit StopStringMatcher(std::vector<std::string> stops);

  // Feeds the next piece. Stop strings may span pieces; the earliest match wins.
  // Must not be called once a result has reported `stopped`.
  Result Append(std::string_view text);

  // At the end of the stream: the held-back text, which turned out not to be a stop.
  std::string Flush();

 private:
  // Length of the longest suffix of pending_ that is a proper prefix of a stop string.
  size_t HeldBackLength() const;

  std::vector<std::string> stops_;
  size_t max_stop_length_ = 0;
  std::string pending_;  // appended text not yet emitted
  bool stopped_ = false;
};

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_STOP_STRING_MATCHER_H_
