// Writes the state_blob fuzz target's seed corpus: states exported by a real engine on
// the target's model (state_blob_fuzz_model.h), plus typical corruptions of them. The
// valid seeds are what a client gets back with return_state, byte for byte.
//   cmake --build build --target glaserve_make_state_blob_seeds
//   build/bin/glaserve_make_state_blob_seeds tests/fuzz/corpus/state_blob
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/state_blob.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/state_blob_fuzz_model.h"

namespace glaserve::fuzz {
namespace {

// Keeps the final update; the test's own thread steps the engine.
class FinalSink : public RequestSink {
 public:
  void OnUpdate(RequestUpdate update) override {
    if (update.final) final_ = std::move(update);
  }
  const std::optional<RequestUpdate>& final_update() const { return final_; }

 private:
  std::optional<RequestUpdate> final_;
};

// Runs `request` to its end with return_state; the exported state.
std::string ExportState(Engine& engine, GenerationRequest request) {
  request.return_state = true;
  request.params.temperature = 0;
  auto sink = std::make_shared<FinalSink>();
  absl::StatusOr<std::shared_ptr<RequestHandle>> handle = engine.Submit(std::move(request), sink);
  FUZZ_CHECK(handle.ok());
  while (!sink->final_update().has_value()) engine.Step();
  FUZZ_CHECK(sink->final_update()->status.ok());
  FUZZ_CHECK(!sink->final_update()->state.empty());
  return sink->final_update()->state;
}

void Write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// A seed that the target must accept: checked here, since a seed refused by mistake
// would only lose coverage, silently.
void WriteValid(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  FUZZ_CHECK(ParseState(StateBlobFuzzIdentity(), bytes).ok());
  Write(dir, name, bytes);
}

std::string Describe(const StateIdentity& id) {
  char text[256];
  std::snprintf(text, sizeof(text), "fingerprint 0x%016llx, %s, [%lld, %lld, %lld, %lld], %lld bytes, vocab %lld",
                static_cast<unsigned long long>(id.model_fingerprint), id.state_dtype.c_str(),
                static_cast<long long>(id.num_layers), static_cast<long long>(id.num_kv_heads),
                static_cast<long long>(id.head_v_dim), static_cast<long long>(id.head_k_dim),
                static_cast<long long>(id.state_bytes), static_cast<long long>(id.vocab_size));
  return text;
}

int Main(const std::filesystem::path& out) {
  char dir_template[] = "/tmp/glaserve_state_blob_model_XXXXXX";
  const char* dir = mkdtemp(dir_template);
  FUZZ_CHECK(dir != nullptr);
  const std::string command = std::string(GLASERVE_PYTHON " " GLASERVE_SOURCE_DIR "/scripts/make_random_checkpoint.py") +
                              " --out " + dir + " " + kStateBlobFuzzModelArgs + " >/dev/null";
  FUZZ_CHECK(std::system(command.c_str()) == 0);
  absl::StatusOr<LoadedModel> model = LoadModel({dir, "cpu", /*num_slots=*/1});
  FUZZ_CHECK(model.ok());
  std::filesystem::remove_all(dir);
  Engine engine(*std::move(model), EngineOptions{});

  const StateIdentity& identity = engine.reuse().identity();
  const StateIdentity expected = StateBlobFuzzIdentity();
  if (Describe(identity) != Describe(expected)) {
    std::fprintf(stderr, "the model's state identity is\n  %s\nbut state_blob_fuzz_model.h says\n  %s\n",
                 Describe(identity).c_str(), Describe(expected).c_str());
    return 1;
  }

  // Overwrites its own seeds only: regression_* inputs from fuzzing stay.
  std::filesystem::create_directories(out);
  // Valid: a first reply's state, and one continued from it (imported, then exported).
  GenerationRequest first;
  first.prompt_token_ids = {1, 17, 5, 40, 33, 9};
  first.params.max_tokens = 4;
  const std::string exported = ExportState(engine, first);
  GenerationRequest second;
  second.prompt_token_ids = {12, 60};
  second.params.max_tokens = 3;
  second.initial_state = exported;
  WriteValid(out, "exported", exported);
  WriteValid(out, "continued", ExportState(engine, second));

  // The exporter itself on edge values: no pending token (a prefix-cache state), the
  // largest pending token, an empty history.
  absl::StatusOr<SavedState> state = ParseState(identity, exported);
  FUZZ_CHECK(state.ok());
  SavedState edge = *state;
  edge.pending_token_id = -1;
  WriteValid(out, "no_pending_token", SerializeState(identity, edge));
  edge.pending_token_id = static_cast<int32_t>(identity.vocab_size - 1);
  edge.num_tokens = 0;
  WriteValid(out, "last_token_no_history", SerializeState(identity, edge));

  // Refused: well-formed states of something else, and corruptions.
  StateIdentity other = identity;
  other.model_fingerprint ^= 1;
  Write(out, "other_model", SerializeState(other, *state));
  other = identity;
  other.state_dtype = "bf16";
  other.state_bytes /= 2;
  SavedState half = *state;
  half.bytes.resize(other.state_bytes);
  Write(out, "bf16", SerializeState(other, half));
  other = identity;
  other.head_k_dim = 2;
  other.state_bytes /= 2;
  Write(out, "other_shape", SerializeState(other, half));
  edge = *state;
  edge.pending_token_id = static_cast<int32_t>(identity.vocab_size);
  Write(out, "pending_outside_vocabulary", SerializeState(identity, edge));
  edge = *state;
  edge.num_tokens = -1;
  Write(out, "negative_token_count", SerializeState(identity, edge));
  edge.num_tokens = std::numeric_limits<int64_t>::max();
  Write(out, "huge_token_count", SerializeState(identity, edge));
  std::string bad = exported;
  bad[kStateBlobHeaderBytes + 100] ^= 0x04;
  Write(out, "payload_bit_flip", bad);
  bad = exported;
  bad[50] ^= 0x01;
  Write(out, "header_bit_flip", bad);
  bad = exported;
  bad[8] = 2;
  Write(out, "version_2", bad);
  Write(out, "truncated", exported.substr(0, exported.size() - 1));
  Write(out, "header_only", exported.substr(0, kStateBlobHeaderBytes));
  Write(out, "appended", exported + '\0');
  Write(out, "empty", "");
  std::printf("wrote the seeds to %s\n", out.c_str());
  return 0;
}

}  // namespace
}  // namespace glaserve::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus/state_blob)\n", argv[0]);
    return 2;
  }
  return glaserve::fuzz::Main(argv[1]);
}
