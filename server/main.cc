// glaserve: `glaserve generate ...` (one completion) and, with the server, `glaserve serve`.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "server/cli_args.h"
#include "server/generate_command.h"
#include "server/health_command.h"
#include "server/serve_command.h"

namespace {

constexpr char kUsage[] =
    "usage: glaserve <command> [flags]\n"
    "commands:\n"
    "  serve      serve the model over gRPC: --model DIR [--port 50051]\n"
    "  generate   generate one completion: --model DIR (--prompt TEXT | --prompt-ids 1,2,3)\n"
    "  health     check a server's gRPC health: --addr HOST:PORT (exit 0 when SERVING)\n"
    "Run `glaserve <command> --helpfull` for every flag.";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  const std::string command = argv[1];
  // Drop the command word and parse the rest as flags.
  std::vector<std::string> args = glaserve::NormalizeFlagNames(argc, argv);
  args.erase(args.begin() + 1);
  std::vector<char*> arg_pointers;
  for (std::string& arg : args) arg_pointers.push_back(arg.data());
  std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(arg_pointers.size()), arg_pointers.data());
  if (positional.size() > 1) {
    std::fprintf(stderr, "glaserve %s: unexpected argument '%s'\n", command.c_str(), positional[1]);
    return 2;
  }
  if (command == "generate") return glaserve::RunGenerateCommand();
  if (command == "serve") return glaserve::RunServeCommand();
  if (command == "health") return glaserve::RunHealthCommand();
  std::fprintf(stderr, "glaserve: unknown command '%s'\n%s\n", command.c_str(), kUsage);
  return 2;
}
