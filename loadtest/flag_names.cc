#include "loadtest/flag_names.h"

namespace glaserve::loadtest {

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
