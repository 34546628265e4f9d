// Command-line spelling: the documented flags use dashes (--max-tokens) while absl flags
// are identifiers (max_tokens); this rewrites the former into the latter before parsing.
#ifndef GLASERVE_SERVER_CLI_ARGS_H_
#define GLASERVE_SERVER_CLI_ARGS_H_

#include <string>
#include <vector>

namespace glaserve {

// "--max-tokens=5" -> "--max_tokens=5". Only arguments starting with "--" are touched, so
// pass a value that itself starts with "--" as --flag=value.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

}  // namespace glaserve

#endif  // GLASERVE_SERVER_CLI_ARGS_H_
