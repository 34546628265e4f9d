// glaserve-bench: an asynchronous load generator for a glaserve server's streaming
// Generate. See loadtest/README.md.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "loadtest/bench.h"
#include "loadtest/bench_flags.h"
#include "loadtest/flag_names.h"
#include "server/cli_args.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(glaserve::loadtest::kBenchUsage);
  // --help lists the flags of loadtest/ (absl's default looks for a file named after the
  // program, and the flags live in bench_flags.cc).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) { return absl::StrContains(file, "loadtest/"); };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::vector<std::string> args = glaserve::NormalizeFlagNames(argc, argv);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  std::vector<char*> positional = absl::ParseCommandLine(static_cast<int>(arg_pointers.size()), arg_pointers.data());
  if (positional.size() > 1) {
    std::fprintf(stderr, "glaserve-bench: unexpected argument '%s'\n", positional[1]);
    return 2;
  }
  absl::StatusOr<glaserve::loadtest::BenchConfig> config =
      glaserve::loadtest::BenchConfigFromFlags(glaserve::loadtest::FlagsGiven(args));
  if (!config.ok()) {
    std::fprintf(stderr, "glaserve-bench: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  return glaserve::loadtest::Bench(*std::move(config)).Run();
}
