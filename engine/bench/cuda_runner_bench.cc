// The CUDA runner end to end on the gla-1.3B shape with random bf16 weights (issue 4's
// benchmark table): decode tokens/s at several batch sizes for fp32 and bf16 states as a
// fraction of the memory bound (DESIGN.md section 8, from the copy bandwidth measured in
// this run), and prefill tokens/s for single long prompts and a batch of short ones.
//
// Usage: glaserve_bench_cuda_runner [--quick] [--decode-only] [--batches B,B,...] [--prefill-chunk N]
//        [--layers L] [--profile-step B]
// --profile-step B runs one eager decode step of batch B between cudaProfilerStart/Stop
// and nothing else, for `ncu --profile-from-start off` (per-kernel times of a step).
// Decode steps run as the engine runs them (graph replay, logits left on the GPU for
// sampling there); "with host logits" adds the copy of every row's logits to the host.
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda/cuda_device.h"
#include "engine/cuda/cuda_model_runner.h"
#include "kernels/bench/bench_util.h"

namespace glaserve {
namespace {

using kernels::cuda::StateDType;

ModelConfig Gla13B(int layers) {
  ModelConfig c;
  c.hidden_size = 2048;
  c.num_hidden_layers = layers;
  c.num_heads = 4;
  c.num_kv_heads = 4;
  c.key_dim = 1024;
  c.value_dim = 2048;
  c.head_k_dim = 256;
  c.head_v_dim = 512;
  c.intermediate_size = 5632;
  c.vocab_size = 32000;
  c.tie_word_embeddings = false;
  return c;
}

std::vector<int32_t> RandomTokens(int64_t n, int32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(n);
  for (int32_t& id : ids) id = static_cast<int32_t>(rng() % vocab);
  return ids;
}

struct Args {
  int profile_step = 0;
  bool quick = false;
  int64_t prefill_chunk = 8192;
  int layers = 24;
  bool decode_only = false;
  std::vector<int> batches;  // decode batch sizes; empty: the default list
};

void DecodeTable(const ModelConfig& config, const Args& args, double copy_bw) {
  std::printf("\n## Decode (gla-1.3B shape, %d layers, bf16 weights)\n\n", static_cast<int>(config.num_hidden_layers));
  std::printf("| state | batch | ms per step | tokens/s | bound tokens/s | fraction of bound | "
              "ms per step + greedy sampling on the GPU | ms per step + logits to the host |\n"
              "|---|---|---|---|---|---|---|---|\n");
  const std::vector<int> batches = !args.batches.empty() ? args.batches
                                   : args.quick         ? std::vector<int>{1, 32, 128}
                                                        : std::vector<int>{1, 32, 128, 512};
  const int max_batch = *std::max_element(batches.begin(), batches.end());
  for (StateDType dtype : {StateDType::kF32, StateDType::kBF16}) {
    CudaRunnerOptions options;
    options.num_slots = max_batch;
    options.state_dtype = dtype;
    options.max_batch_tokens = 4096;
    CudaModelRunner runner(config, CudaModelWeights::Random(config, 1), options);
    const double weight_bytes = static_cast<double>(runner.weights().bytes());
    // States start from a real prompt each, not from zeros.
    const std::vector<int32_t> prompt = RandomTokens(16, config.vocab_size, 2);
    std::vector<SequenceBatchEntry> prefill;
    for (int s = 0; s < max_batch; ++s) prefill.push_back({s, prompt, false});
    for (size_t first = 0; first < prefill.size(); first += 128) {
      const size_t n = std::min<size_t>(128, prefill.size() - first);
      runner.ForwardOnDevice(std::span<const SequenceBatchEntry>(prefill).subspan(first, n));
    }
    std::vector<float> host_logits(static_cast<size_t>(max_batch) * config.vocab_size);
    for (int batch : batches) {
      const std::vector<int32_t> tokens = RandomTokens(batch, config.vocab_size, batch);
      std::vector<SequenceBatchEntry> step;
      for (int s = 0; s < batch; ++s) step.push_back({s, std::span<const int32_t>(&tokens[s], 1), true});
      const double ms = bench::MedianMs([&] { runner.ForwardOnDevice(step); }, runner.stream(), 3, args.quick ? 10 : 30);
      const double host_ms =
          bench::MedianMs([&] { runner.Forward(step, host_logits); }, runner.stream(), 2, args.quick ? 5 : 10);
      SamplingParams greedy;
      greedy.temperature = 0;
      DeviceSamplingRequest request;
      request.params = &greedy;
      const std::vector<DeviceSamplingRequest> requests(batch, request);
      std::vector<SampledToken> sampled(batch);
      const double sample_ms = bench::MedianMs([&] { runner.ForwardAndSample(step, requests, sampled); },
                                               runner.stream(), 2, args.quick ? 5 : 10);
      const double bytes = weight_bytes + 2.0 * batch * runner.state_bytes_per_sequence();
      const double bound = batch / (bytes / copy_bw);
      const double rate = batch / (ms * 1e-3);
      std::printf("| %s | %d | %.3f | %.0f | %.0f | %.2f | %.3f | %.3f |\n",
                  dtype == StateDType::kF32 ? "fp32" : "bf16", batch, ms, rate, bound, rate / bound, sample_ms, host_ms);
      std::fflush(stdout);
    }
  }
}

void ProfileStep(const ModelConfig& config, int batch) {
  CudaRunnerOptions options;
  options.num_slots = batch;
  options.use_cuda_graphs = false;  // the profiler sees each kernel
  CudaModelRunner runner(config, CudaModelWeights::Random(config, 1), options);
  const std::vector<int32_t> tokens = RandomTokens(batch, config.vocab_size, 3);
  std::vector<SequenceBatchEntry> step;
  for (int s = 0; s < batch; ++s) step.push_back({s, std::span<const int32_t>(&tokens[s], 1), true});
  for (int i = 0; i < 3; ++i) runner.ForwardOnDevice(step);
  bench::Check(cudaStreamSynchronize(runner.stream()), "sync");
  cudaProfilerStart();
  runner.ForwardOnDevice(step);
  bench::Check(cudaStreamSynchronize(runner.stream()), "sync");
  cudaProfilerStop();
}

void PrefillTable(const ModelConfig& config, const Args& args) {
  std::printf("\n## Prefill (gla-1.3B shape, %d layers, fp32 state, pieces of %lld tokens per Forward)\n\n",
              static_cast<int>(config.num_hidden_layers), static_cast<long long>(args.prefill_chunk));
  std::printf("| prompts | tokens | ms | tokens/s | TFLOP/s (2 x params x tokens) |\n|---|---|---|---|---|\n");
  struct Case { const char* name; int count; int64_t length; };
  std::vector<Case> cases = {{"1 x 2K", 1, 2048}, {"1 x 32K", 1, 32768}, {"16 x 2K", 16, 2048}};
  if (!args.quick) cases.insert(cases.begin() + 2, {"1 x 128K", 1, 131072});
  CudaRunnerOptions options;
  options.num_slots = 16;
  options.max_batch_tokens = args.prefill_chunk;
  CudaModelRunner runner(config, CudaModelWeights::Random(config, 1), options);
  const double params = static_cast<double>(runner.weights().bytes()) / 2;
  for (const Case& c : cases) {
    const std::vector<int32_t> tokens = RandomTokens(c.count * c.length, config.vocab_size, 7);
    auto run = [&] {
      // Short prompts go together in one Forward (up to the piece size); a long prompt
      // goes piece by piece, each continuing from the state the last one left.
      for (int s = 0; s < c.count; ++s) runner.ResetSlot(s);
      if (c.count > 1) {
        std::vector<SequenceBatchEntry> batch;
        int64_t in_batch = 0;
        for (int s = 0; s < c.count; ++s) {
          if (in_batch + c.length > args.prefill_chunk && !batch.empty()) {
            runner.ForwardOnDevice(batch);
            batch.clear();
            in_batch = 0;
          }
          batch.push_back({s, std::span<const int32_t>(tokens).subspan(s * c.length, c.length), true});
          in_batch += c.length;
        }
        runner.ForwardOnDevice(batch);
      } else {
        for (int64_t first = 0; first < c.length; first += args.prefill_chunk) {
          const int64_t n = std::min(args.prefill_chunk, c.length - first);
          SequenceBatchEntry piece{0, std::span<const int32_t>(tokens).subspan(first, n), first + n == c.length};
          runner.ForwardOnDevice({&piece, 1});
        }
      }
    };
    const double ms = bench::MedianMs(run, runner.stream(), 1, c.length >= 131072 ? 3 : 5);
    const double total = static_cast<double>(c.count) * c.length;
    std::printf("| %s | %.0f | %.1f | %.0f | %.0f |\n", c.name, total, ms, total / (ms * 1e-3),
                2 * params * total / (ms * 1e-3) / 1e12);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace glaserve

int main(int argc, char** argv) {
  glaserve::Args args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      args.quick = true;
    } else if (std::strcmp(argv[i], "--prefill-chunk") == 0 && i + 1 < argc) {
      args.prefill_chunk = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--profile-step") == 0 && i + 1 < argc) {
      args.profile_step = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--layers") == 0 && i + 1 < argc) {
      args.layers = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
      for (const char* p = argv[++i]; *p != '\0';) {
        char* end = nullptr;
        const long batch = std::strtol(p, &end, 10);
        if (end == p || batch <= 0) {
          std::fprintf(stderr, "--batches: expected positive sizes separated by commas, got %s\n", argv[i]);
          return 2;
        }
        args.batches.push_back(static_cast<int>(batch));
        p = *end == ',' ? end + 1 : end;
      }
    } else if (std::strcmp(argv[i], "--decode-only") == 0) {
      args.decode_only = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--quick] [--decode-only] [--batches B,B,...] [--prefill-chunk N] [--layers L] "
                   "[--profile-step B]\n",
                   argv[0]);
      return 2;
    }
  }
  if (glaserve::CudaDeviceCount() == 0) {
    std::fprintf(stderr, "no CUDA GPU\n");
    return 1;
  }
  if (args.profile_step > 0) {
    glaserve::ProfileStep(glaserve::Gla13B(args.layers), args.profile_step);
    return 0;
  }
  std::printf("device: %s\n", glaserve::CudaDeviceDescription(0).c_str());
  cudaStream_t stream;
  glaserve::bench::Check(cudaStreamCreate(&stream), "cudaStreamCreate");
  const double copy_bw = glaserve::bench::MeasureCopyBandwidth(stream);
  std::printf("measured copy bandwidth (read + write): %.0f GB/s\n", copy_bw / 1e9);
  const glaserve::ModelConfig config = glaserve::Gla13B(args.layers);
  glaserve::DecodeTable(config, args, copy_bw);
  if (!args.decode_only) glaserve::PrefillTable(config, args);
  return 0;
}
