// Which flags a command line set, after server/cli_args.h's NormalizeFlagNames turned the
// documented dashed spelling (--prompt-tokens) into absl's (prompt_tokens).
#ifndef GLASERVE_LOADTEST_FLAG_NAMES_H_
#define GLASERVE_LOADTEST_FLAG_NAMES_H_

#include <set>
#include <string>
#include <vector>

namespace glaserve::loadtest {

// The flags that normalized `args` set ("prompt_tokens"; "--noignore_eos" gives both
// "noignore_eos" and "ignore_eos"), so that a preset changes only the others.
std::set<std::string> FlagsGiven(const std::vector<std::string>& args);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_FLAG_NAMES_H_
