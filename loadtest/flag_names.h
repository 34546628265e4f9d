// Command-line spelling: documented flags use dashes (--prompt-tokens) while absl flag
// names are identifiers (prompt_tokens). The same few lines as server/cli_args.h, kept
// here because the load generator links nothing of the server.
#ifndef GLASERVE_LOADTEST_FLAG_NAMES_H_
#define GLASERVE_LOADTEST_FLAG_NAMES_H_

#include <set>
#include <string>
#include <vector>

namespace glaserve::loadtest {

// "--prompt-tokens=5" -> "--prompt_tokens=5". Only arguments starting with "--" are
// touched, up to a "--" on its own.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

// The flags that normalized `args` set ("prompt_tokens"; "--noignore_eos" gives both
// "noignore_eos" and "ignore_eos"), so that a preset changes only the others.
std::set<std::string> FlagsGiven(const std::vector<std::string>& args);

}  // namespace glaserve::loadtest

#endif  // GLASERVE_LOADTEST_FLAG_NAMES_H_
