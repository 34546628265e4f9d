// Test fixtures: random fla-format checkpoints written by scripts/make_random_checkpoint.py
// (the same tool users run), so tests need no binary weights in git.
#ifndef GLASERVE_TESTS_TESTING_TEST_CHECKPOINT_H_
#define GLASERVE_TESTS_TESTING_TEST_CHECKPOINT_H_

#include <filesystem>
#include <string>
#include <vector>

namespace glaserve::testing {

// A fresh empty directory under the test's temp dir.
std::filesystem::path MakeTempDir(const std::string& name);

// Runs the random-checkpoint tool with `args` (e.g. {"--hidden-size", "64"}) into `dir`;
// fails the test (ADD_FAILURE) and returns false when the tool fails.
bool WriteRandomCheckpoint(const std::filesystem::path& dir, const std::vector<std::string>& args);

// The file's text, or "" if it cannot be read.
std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const std::string& contents);

}  // namespace glaserve::testing

#endif  // GLASERVE_TESTS_TESTING_TEST_CHECKPOINT_H_
