// Fuzz target: GenerateRequest bytes as the server receives them: parsed, validated and
// converted (request_conversion), submitted to a real engine on a tiny random model,
// run for a few steps with whatever sampling parameters it carries, then cancelled. The
// engine must answer every accepted request with exactly one final update and end with
// no slot held and nothing waiting.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/engine.h"
#include "glaserve/v1/glaserve.pb.h"
#include "server/request_conversion.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Counts updates; the engine calls it on the (test's own) stepping thread.
class CountingSink : public glaserve::RequestSink {
 public:
  void OnUpdate(glaserve::RequestUpdate update) override {
    FUZZ_CHECK(num_finals_ == 0);  // nothing after the final update
    if (update.final) ++num_finals_;
  }
  int num_finals() const { return num_finals_; }

 private:
  int num_finals_ = 0;
};

// A 1-layer random GLA model with the trained tokenizer, written once per process by the
// same tool the tests use.
glaserve::Engine& TinyEngine() {
  static glaserve::Engine* engine = [] {
    char dir_template[] = "/tmp/glaserve_fuzz_model_XXXXXX";
    const char* dir = mkdtemp(dir_template);
    FUZZ_CHECK(dir != nullptr);
    const std::string command = std::string(GLASERVE_PYTHON " " GLASERVE_SOURCE_DIR "/scripts/make_random_checkpoint.py") +
                                " --out " + dir + " --hidden-size 32 --num-layers 1 --num-heads 2 --vocab-size 4096" +
                                " --seed 5 --tokenizer " GLASERVE_SOURCE_DIR "/models/gla-brown-4m";
    FUZZ_CHECK(std::system(command.c_str()) == 0);
    absl::StatusOr<glaserve::LoadedModel> model = glaserve::LoadModel({dir, "cpu", /*num_slots=*/2});
    FUZZ_CHECK(model.ok());
    std::filesystem::remove_all(dir);  // the weights are in memory now
    glaserve::EngineOptions options;
    options.max_batch_tokens = 64;
    options.max_waiting = 1;
    options.max_prompt_tokens = 512;
    return new glaserve::Engine(*std::move(model), options);
  }();
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  glaserve::v1::GenerateRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  glaserve::Engine& engine = TinyEngine();
  absl::StatusOr<glaserve::GenerationRequest> converted =
      glaserve::ToGenerationRequest(request, engine.model().tokenizer.get());
  if (!converted.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(converted.status()));
    return 0;
  }
  auto sink = std::make_shared<CountingSink>();
  const bool names_session = !converted->session_id.empty();
  absl::StatusOr<std::shared_ptr<glaserve::RequestHandle>> handle = engine.Submit(*std::move(converted), sink);
  if (!handle.ok()) {
    // Sessions are off on this engine: a session id is FAILED_PRECONDITION (Submit's contract).
    FUZZ_CHECK(absl::IsInvalidArgument(handle.status()) ||
               (names_session && absl::IsFailedPrecondition(handle.status())));
    return 0;
  }
  // A prompt of up to 512 tokens takes at most 8 steps at 64 per step; then a few tokens.
  for (int step = 0; step < 12 && sink->num_finals() == 0; ++step) engine.Step();
  (*handle)->Cancel();
  for (int step = 0; step < 3 && sink->num_finals() == 0; ++step) engine.Step();
  FUZZ_CHECK(sink->num_finals() == 1);
  FUZZ_CHECK(engine.num_slots_used() == 0);
  FUZZ_CHECK(engine.num_waiting() == 0);
  return 0;
}
