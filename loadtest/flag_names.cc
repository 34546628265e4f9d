#include "loadtest/flag_names.h"

#include <algorithm>

namespace glaserve::loadtest {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    const size_t name_end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + name_end, '-', '_');
  }
  return args;
}

std::set<std::string> FlagsGiven(const std::vector<std::string>& args) {
  std::set<std::string> given;
  for (size_t i = 1; i < args.size() && args[i] != "--"; ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    const std::string name = arg.substr(2, arg.find('=') - 2);
    given.insert(name);
    if (name.compare(0, 2, "no") == 0) given.insert(name.substr(2));
  }
  return given;
}

}  // namespace glaserve::loadtest
