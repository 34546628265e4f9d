#include "loadtest/flag_names.h"
#include "server/cli_args.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace glaserve::loadtest {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Normalize(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return NormalizeFlagNames(static_cast<int>(argv.size()), argv.data());
}

TEST(FlagNamesTest, DashesBecomeUnderscoresInNamesOnly) {
  EXPECT_THAT(Normalize({"bench", "--prompt-tokens=5", "--output-tokens", "7", "--report=a-b.json", "-x-y", "--",
                         "--not-a-flag"}),
              ElementsAre("bench", "--prompt_tokens=5", "--output_tokens", "7", "--report=a-b.json", "-x-y", "--",
                          "--not-a-flag"));
}

TEST(FlagNamesTest, FlagsGiven) {
  const std::set<std::string> given =
      FlagsGiven(Normalize({"bench", "--prompt-tokens=5", "--concurrency", "4", "--noignore-eos", "--", "--seed"}));
  EXPECT_THAT(given, ElementsAre("concurrency", "ignore_eos", "noignore_eos", "prompt_tokens"));
}

}  // namespace
}  // namespace glaserve::loadtest
