#include "server/generate_command.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/engine.h"
#include "engine/model.h"
#include "nlohmann/json.hpp"
#include "server/model_flags.h"

ABSL_FLAG(std::string, prompt, "", "Prompt text (tokenized with the checkpoint's tokenizer).");
ABSL_FLAG(std::string, prompt_ids, "",
          "Prompt as comma-separated token ids, used exactly as given (no BOS added).");
ABSL_FLAG(int32_t, max_tokens, 128, "Maximum number of tokens to generate.");
ABSL_FLAG(int32_t, min_tokens, 0, "Generate at least this many tokens before EOS may stop.");
ABSL_FLAG(double, temperature, 1.0, "Sampling temperature; 0 is greedy.");
ABSL_FLAG(int32_t, top_k, 0, "Keep the k most likely tokens; 0 is off.");
ABSL_FLAG(double, top_p, 1.0, "Nucleus sampling probability mass; 1 is off.");
ABSL_FLAG(double, min_p, 0.0, "Drop tokens less likely than min_p times the best; 0 is off.");
ABSL_FLAG(double, repetition_penalty, 1.0, "Penalty on tokens already seen; 1 is off.");
ABSL_FLAG(double, presence_penalty, 0.0, "Penalty on tokens already generated.");
ABSL_FLAG(double, frequency_penalty, 0.0, "Penalty per occurrence of a generated token.");
ABSL_FLAG(int64_t, seed, -1, "Sampling seed; -1 picks one at random.");
ABSL_FLAG(std::vector<std::string>, stop, {}, "Comma-separated stop strings.");
ABSL_FLAG(std::vector<std::string>, stop_token_ids, {}, "Comma-separated stop token ids.");
ABSL_FLAG(bool, ignore_eos, false, "Keep generating after the EOS token.");
ABSL_FLAG(int32_t, logprobs, 0, "Report this many top logprobs per generated token (--json).");
ABSL_FLAG(bool, json, false, "Print one JSON object instead of streaming text.");

namespace glaserve {
namespace {

using Json = nlohmann::json;

absl::StatusOr<std::vector<int32_t>> ParseIds(const std::string& text, const char* flag) {
  std::vector<int32_t> ids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int32_t id;
    if (!absl::SimpleAtoi(part, &id)) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", part, "' is not a token id"));
    }
    ids.push_back(id);
  }
  return ids;
}

absl::StatusOr<SamplingParams> SamplingParamsFromFlags(int32_t vocab_size) {
  SamplingParams params;
  params.max_tokens = absl::GetFlag(FLAGS_max_tokens);
  params.min_tokens = absl::GetFlag(FLAGS_min_tokens);
  params.temperature = static_cast<float>(absl::GetFlag(FLAGS_temperature));
  params.top_k = absl::GetFlag(FLAGS_top_k);
  params.top_p = static_cast<float>(absl::GetFlag(FLAGS_top_p));
  params.min_p = static_cast<float>(absl::GetFlag(FLAGS_min_p));
  params.repetition_penalty = static_cast<float>(absl::GetFlag(FLAGS_repetition_penalty));
  params.presence_penalty = static_cast<float>(absl::GetFlag(FLAGS_presence_penalty));
  params.frequency_penalty = static_cast<float>(absl::GetFlag(FLAGS_frequency_penalty));
  if (absl::GetFlag(FLAGS_seed) >= 0) params.seed = absl::GetFlag(FLAGS_seed);
  params.stop = absl::GetFlag(FLAGS_stop);
  for (const std::string& id : absl::GetFlag(FLAGS_stop_token_ids)) {
    absl::StatusOr<std::vector<int32_t>> parsed = ParseIds(id, "stop-token-ids");
    if (!parsed.ok()) return parsed.status();
    params.stop_token_ids.insert(params.stop_token_ids.end(), parsed->begin(), parsed->end());
  }
  params.ignore_eos = absl::GetFlag(FLAGS_ignore_eos);
  params.logprobs = absl::GetFlag(FLAGS_logprobs);
  if (absl::Status s = ValidateSamplingParams(params, vocab_size); !s.ok()) return s;
  return params;
}

absl::StatusOr<std::vector<int32_t>> PromptFromFlags(const LoadedModel& model) {
  const std::string text = absl::GetFlag(FLAGS_prompt);
  const std::string ids_text = absl::GetFlag(FLAGS_prompt_ids);
  if (text.empty() == ids_text.empty()) {
    return absl::InvalidArgumentError("give exactly one of --prompt or --prompt-ids");
  }
  std::vector<int32_t> ids;
  if (!text.empty()) {
    if (model.tokenizer == nullptr) {
      return absl::InvalidArgumentError(
          "--prompt: this checkpoint has no tokenizer.model; use --prompt-ids");
    }
    ids = model.tokenizer->Encode(text);
  } else {
    absl::StatusOr<std::vector<int32_t>> parsed = ParseIds(ids_text, "prompt-ids");
    if (!parsed.ok()) return parsed.status();
    ids = *std::move(parsed);
  }
  if (ids.empty()) return absl::InvalidArgumentError("the prompt has no tokens");
  for (int32_t id : ids) {
    if (id < 0 || id >= model.config.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("--prompt-ids: token id ", id,
                                                     " is outside the vocabulary [0, ",
                                                     model.config.vocab_size, ")"));
    }
  }
  return ids;
}

Json TokenJson(const GeneratedToken& token) {
  Json top = Json::array();
  for (const TokenLogprob& alt : token.top) top.push_back({alt.token_id, alt.logprob});
  return {{"token_id", token.token_id}, {"logprob", token.logprob}, {"top", top}};
}

int Fail(const absl::Status& status) {
  std::cerr << "glaserve generate: " << status.message() << "\n";
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status) ? 2 : 1;
}


// Prints (or collects) a request's output as the engine delivers it.
class GenerateSink : public RequestSink {
 public:
  explicit GenerateSink(bool json) : json_(json) {}

  void OnUpdate(RequestUpdate update) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!json_) std::cout << update.text << std::flush;
    text_ += update.text;
    for (const GeneratedToken& token : update.tokens) {
      token_ids_.push_back(token.token_id);
      logprobs_.push_back(TokenJson(token));
    }
    if (update.final) {
      final_ = std::move(update);
      done_.notify_all();
    }
  }

  // Blocks until the final update; returns it.
  RequestUpdate WaitFinal() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return final_.final; });
    return final_;
  }

  std::string text_;
  std::vector<int32_t> token_ids_;
  Json logprobs_ = Json::array();

 private:
  const bool json_;
  std::mutex mutex_;
  std::condition_variable done_;
  RequestUpdate final_;
};

}  // namespace

int RunGenerateCommand() {
  absl::StatusOr<LoadedModel> model = LoadModelFromFlags(/*num_slots=*/1);
  if (!model.ok()) return Fail(model.status());
  absl::StatusOr<std::vector<int32_t>> prompt = PromptFromFlags(*model);
  if (!prompt.ok()) return Fail(prompt.status());
  absl::StatusOr<SamplingParams> params = SamplingParamsFromFlags(model->config.vocab_size);
  if (!params.ok()) return Fail(params.status());
  const bool json = absl::GetFlag(FLAGS_json);
  const std::string model_name = model->name;
  const std::string device = model->runner->device_name();

  // The same engine as the server: chunked prefill, then one decode per step.
  Engine engine(*std::move(model), EngineOptions{});
  auto sink = std::make_shared<GenerateSink>(json);
  GenerationRequest request;
  request.prompt_token_ids = *prompt;
  request.params = *params;
  absl::StatusOr<std::shared_ptr<RequestHandle>> handle = engine.Submit(std::move(request), sink);
  if (!handle.ok()) return Fail(handle.status());
  engine.Start();
  const RequestUpdate final = sink->WaitFinal();
  engine.Stop();
  if (!final.status.ok()) return Fail(final.status);

  const RequestTimings& t = final.timings;
  const int64_t num_generated = final.completion_tokens;
  // The first token comes from the prefill's logits; decode ran num_generated - 1 steps.
  const double prefill_seconds = absl::ToDoubleSeconds(t.first_token - t.admitted);
  const double decode_seconds = absl::ToDoubleSeconds(t.finished - t.first_token);
  const double prefill_rate = prompt->size() / std::max(prefill_seconds, 1e-9);
  const double decode_rate = (num_generated - 1) / std::max(decode_seconds, 1e-9);
  const char* finish_reason = FinishReasonName(*final.finish_reason);
  if (json) {
    Json out = {{"model", model_name},
                {"prompt_token_ids", *prompt},
                {"token_ids", sink->token_ids_},
                {"text", sink->text_},
                {"finish_reason", finish_reason},
                {"usage", {{"prompt_tokens", prompt->size()}, {"completion_tokens", num_generated}}},
                {"timing",
                 {{"prefill_seconds", prefill_seconds},
                  {"decode_seconds", decode_seconds},
                  {"prefill_tokens_per_second", prefill_rate},
                  {"decode_tokens_per_second", decode_rate}}}};
    if (params->logprobs > 0) out["logprobs"] = sink->logprobs_;
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << std::endl;
  } else {
    std::cout << std::endl;
    std::fprintf(stderr,
                 "[%s] prompt %zu tokens in %.3f s (%.1f tok/s), generated %lld tokens in %.3f s "
                 "(%.1f tok/s), finish_reason=%s\n",
                 device.c_str(), prompt->size(), prefill_seconds, prefill_rate,
                 static_cast<long long>(num_generated), decode_seconds, decode_rate, finish_reason);
  }
  return 0;
}

}  // namespace glaserve
