#include "server/cli_args.h"

#include <algorithm>

namespace glaserve {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  bool after_double_dash = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (after_double_dash || arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    if (arg == "--") {
      after_double_dash = true;
      continue;
    }
    const size_t name_end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + name_end, '-', '_');
  }
  return args;
}

}  // namespace glaserve
