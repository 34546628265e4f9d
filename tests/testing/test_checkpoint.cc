#include "tests/testing/test_checkpoint.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace glaserve::testing {

std::filesystem::path MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = std::filesystem::path(base ? base : "/tmp") /
                              absl::StrCat("glaserve_test_", ::getpid()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

bool WriteRandomCheckpoint(const std::filesystem::path& dir, const std::vector<std::string>& args) {
  std::string command = absl::StrCat(GLASERVE_PYTHON, " ", GLASERVE_SOURCE_DIR,
                                     "/scripts/make_random_checkpoint.py --out '", dir.string(), "'");
  for (const std::string& arg : args) absl::StrAppend(&command, " '", arg, "'");
  const int rc = std::system(command.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "random checkpoint tool failed (" << rc << "): " << command;
    return false;
  }
  return true;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

}  // namespace glaserve::testing
