// Checks that an OK stream kept the API's promises (glaserve.proto): a finish reason and
// usage on the last message only, usage that matches what was streamed and sent, and,
// with ignore_eos, exactly max_tokens tokens. A load test that only timed streams would
// report a server that drops tokens under load as a fast one.
#ifndef GLASERVE_LOADTEST_STREAM_VALIDATOR_H_
#define GLASERVE_LOADTEST_STREAM_VALIDATOR_H_

#include <string>
#include <vector>

#include "loadtest/stream_record.h"

namespace glaserve::loadtest {

// Names of the violations, e.g. "token_count_mismatch"; empty when the stream is good or
// failed with a non-OK status (then the status is the error).
std::vector<std::string> ValidateStream(const StreamRecord& record);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_STREAM_VALIDATOR_H_
