// Named workloads (--preset): the long-context load tests users run before deploying,
// and a tiny one for CI. A preset fills in only the flags the command line leaves out,
// and every preset uses ignore_eos so that output lengths are exact.
#ifndef GLASERVE_LOADTEST_PRESETS_H_
#define GLASERVE_LOADTEST_PRESETS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace glaserve::loadtest {

struct Preset {
  std::string name;
  std::string description;
  // One value: every prompt has it (uniform around it with the spread); several: each
  // prompt draws one of them.
  std::vector<int32_t> prompt_tokens;
  double prompt_tokens_spread = 0;
  int32_t output_tokens = 0;
  int32_t concurrency = 1;
  int64_t num_requests = 0;
};

const std::vector<Preset>& Presets();
// nullptr when there is none of that name.
const Preset* FindPreset(const std::string& name);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_PRESETS_H_
