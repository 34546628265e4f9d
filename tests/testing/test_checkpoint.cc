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
  // GLASERVE_TEST_PYTHON / GLASERVE_TEST_SOURCE_DIR override the build's paths, for test
  // binaries carried to another machine (a GPU host without our Debian python).
  const char* python = std::getenv("GLASERVE_TEST_PYTHON");
  const char* source_dir = std::getenv("GLASERVE_TEST_SOURCE_DIR");
  std::string command = absl::StrCat(python ? python : GLASERVE_PYTHON, " ", source_dir ? source_dir : GLASERVE_SOURCE_DIR,
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
