// Times LaunchGlaChunkwise (the chunkwise GLA prefill) on the gla-1.3B attention shape
// (H = H_kv = 4, dk = 256, dv = 512) with random inputs: one 2K, 32K and 128K prompt and a
// batch of 16 x 2K. Prints a markdown table of the median over the timed repetitions.
//
//   glaserve_bench_gla_chunkwise [--quick] [--reps=N] [--case=LABEL]
//
// --quick: smaller prompts (2K, 8K, 4 x 2K) and fewer repetitions. Inputs are packed like
// the runner's fused projection (one row per token: q | k | v | a) and rotated among
// several copies when small, so repetitions do not just re-read the L2 cache.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cuda/gla_chunkwise.h"

namespace {

using glaserve::kernels::cuda::GlaChunkwiseArgs;
using glaserve::kernels::cuda::GlaChunkwiseWorkspace;
using glaserve::kernels::cuda::LaunchGlaChunkwise;
using glaserve::kernels::cuda::StateDType;

constexpr int kHeads = 4, kKvHeads = 4, kHeadK = 256, kHeadV = 512, kChunk = 64;

#define CHECK_CUDA(call)                                                                        \
  do {                                                                                          \
    const cudaError_t err_ = (call);                                                            \
    if (err_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(err_)); \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

// Uniform in [lo, hi) from a hash of the element index: random enough, made on the device.
__global__ void FillUniform(float* x, int64_t n, uint32_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u ^ static_cast<uint32_t>(i >> 32) ^ seed;
    h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
    x[i] = lo + (hi - lo) * (h >> 8) * (1.0f / 16777216.0f);
  }
}

// Packed rows [T, width]; the column ranges of q, k, v and a are filled separately.
__global__ void FillRows(float* rows, int64_t tokens, int64_t width, uint32_t seed) {
  const int64_t n = tokens * width;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t col = i % width;
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u ^ static_cast<uint32_t>(i >> 32) ^ seed;
    h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
    const float u = (h >> 8) * (1.0f / 16777216.0f);  // [0, 1)
    float value;
    if (col < kHeads * kHeadK) {
      value = (2 * u - 1) * 0.0625f;  // q, with the dk^-0.5 scale
    } else if (col < (kHeads + kKvHeads) * kHeadK + kKvHeads * kHeadV) {
      value = 2 * u - 1;  // k and v
    } else {
      value = -0.2f * u;  // log gate
    }
    rows[i] = value;
  }
}

struct Case {
  std::string label;
  int num_seqs;
  int seq_len;
};

struct Result {
  double median_ms, min_ms;
};

double Median(std::vector<float> x) {
  std::sort(x.begin(), x.end());
  return x.size() % 2 ? x[x.size() / 2] : 0.5 * (x[x.size() / 2 - 1] + x[x.size() / 2]);
}

Result Time(const Case& c, int reps) {
  const int64_t tokens = int64_t(c.num_seqs) * c.seq_len;
  const int64_t width = kHeads * kHeadK + kKvHeads * (2 * kHeadK + kHeadV);
  // Enough copies of small inputs to outgrow the 50 MB L2.
  const int copies = static_cast<int>(std::clamp<int64_t>((int64_t(64) << 10) / tokens, 1, 8));
  float *rows = nullptr, *out = nullptr, *state = nullptr;
  int32_t* slots = nullptr;
  const int64_t slot_stride = int64_t(kKvHeads) * kHeadV * kHeadK;
  CHECK_CUDA(cudaMalloc(&rows, copies * tokens * width * sizeof(float)));
  CHECK_CUDA(cudaMalloc(&out, tokens * kHeads * kHeadV * sizeof(float)));
  CHECK_CUDA(cudaMalloc(&state, c.num_seqs * slot_stride * sizeof(float)));
  CHECK_CUDA(cudaMalloc(&slots, c.num_seqs * sizeof(int32_t)));
  FillRows<<<1024, 256>>>(rows, copies * tokens, width, 17);
  FillUniform<<<1024, 256>>>(state, c.num_seqs * slot_stride, 23, -1.0f, 1.0f);
  CHECK_CUDA(cudaGetLastError());
  std::vector<int32_t> slot_ids(c.num_seqs), lengths(c.num_seqs, c.seq_len);
  for (int i = 0; i < c.num_seqs; ++i) slot_ids[i] = i;
  CHECK_CUDA(cudaMemcpy(slots, slot_ids.data(), c.num_seqs * sizeof(int32_t), cudaMemcpyHostToDevice));

  GlaChunkwiseArgs args;
  args.num_heads = kHeads;
  args.num_kv_heads = kKvHeads;
  args.head_k_dim = kHeadK;
  args.head_v_dim = kHeadV;
  args.q_stride = args.k_stride = args.v_stride = args.log_gate_stride = width;
  args.slots = slots;
  args.state = state;
  args.slot_stride = slot_stride;
  args.state_dtype = StateDType::kF32;
  args.out = out;
  args.out_stride = kHeads * kHeadV;
  auto set_copy = [&](int copy) {
    const float* base = rows + copy * tokens * width;
    args.q = base;
    args.k = base + kHeads * kHeadK;
    args.v = base + (kHeads + kKvHeads) * kHeadK;
    args.log_gate = base + (kHeads + kKvHeads) * kHeadK + kKvHeads * kHeadV;
  };

  GlaChunkwiseWorkspace workspace;
  CHECK_CUDA(workspace.Reserve(args, tokens, c.num_seqs));
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  for (int i = 0; i < 3; ++i) {  // warm-up: module load, table copy
    set_copy(i % copies);
    CHECK_CUDA(LaunchGlaChunkwise(args, lengths.data(), c.num_seqs, workspace, stream));
  }
  CHECK_CUDA(cudaStreamSynchronize(stream));
  std::vector<cudaEvent_t> events(reps + 1);
  for (cudaEvent_t& e : events) CHECK_CUDA(cudaEventCreate(&e));
  CHECK_CUDA(cudaEventRecord(events[0], stream));
  for (int i = 0; i < reps; ++i) {
    set_copy(i % copies);
    CHECK_CUDA(LaunchGlaChunkwise(args, lengths.data(), c.num_seqs, workspace, stream));
    CHECK_CUDA(cudaEventRecord(events[i + 1], stream));
  }
  CHECK_CUDA(cudaStreamSynchronize(stream));
  std::vector<float> ms(reps);
  for (int i = 0; i < reps; ++i) CHECK_CUDA(cudaEventElapsedTime(&ms[i], events[i], events[i + 1]));
  for (cudaEvent_t& e : events) CHECK_CUDA(cudaEventDestroy(e));
  CHECK_CUDA(cudaStreamDestroy(stream));
  CHECK_CUDA(cudaFree(rows));
  CHECK_CUDA(cudaFree(out));
  CHECK_CUDA(cudaFree(state));
  CHECK_CUDA(cudaFree(slots));
  return Result{Median(ms), *std::min_element(ms.begin(), ms.end())};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int reps = 0;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg.rfind("--reps=", 0) == 0) {
      reps = std::atoi(arg.c_str() + 7);
    } else if (arg.rfind("--case=", 0) == 0) {
      only = arg.substr(7);
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--reps=N] [--case=LABEL]\n", argv[0]);
      return 2;
    }
  }
  if (reps <= 0) reps = quick ? 10 : 20;
  const std::vector<Case> cases =
      quick ? std::vector<Case>{{"1x2K", 1, 2048}, {"1x8K", 1, 8192}, {"4x2K", 4, 2048}}
            : std::vector<Case>{{"1x2K", 1, 2048}, {"1x32K", 1, 32768}, {"1x128K", 1, 131072}, {"16x2K", 16, 2048}};

  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  // FLOPs per token: per query head q S0 (2 dk dv), scores (2 C dk) and A v (2 C dv) over the
  // full 64x64 chunk square; per kv head the state update (2 dk dv).
  const double flops_per_token = kHeads * (2.0 * kHeadK * kHeadV + 2.0 * kChunk * kHeadK + 2.0 * kChunk * kHeadV) +
                                 kKvHeads * 2.0 * kHeadK * kHeadV;
  // Fewest bytes: q, k, v, a read once (fp32), o written once (fp32); states aside.
  const double bytes_per_token = 4.0 * (kHeads * kHeadK + kKvHeads * (2 * kHeadK + kHeadV) + kHeads * kHeadV);
  std::printf("GLA chunkwise prefill, %s (%d SMs); H=%d H_kv=%d dk=%d dv=%d, fp32 state, median of %d reps\n",
              prop.name, prop.multiProcessorCount, kHeads, kKvHeads, kHeadK, kHeadV, reps);
  std::printf("FLOP/token = H*(2*dk*dv + 2*64*dk + 2*64*dv) + H_kv*2*dk*dv = %.0f; "
              "min bytes/token = 4*(H*dk + H_kv*(2*dk+dv) + H*dv) = %.0f\n\n",
              flops_per_token, bytes_per_token);
  std::printf("| case | tokens | median ms | min ms | Mtok/s | TFLOP/s | GB/s (min bytes) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const Case& c : cases) {
    if (!only.empty() && c.label != only) continue;
    const Result r = Time(c, reps);
    const double tokens = double(c.num_seqs) * c.seq_len, seconds = r.median_ms * 1e-3;
    std::printf("| %s | %.0f | %.3f | %.3f | %.2f | %.1f | %.0f |\n", c.label.c_str(), tokens, r.median_ms, r.min_ms,
                tokens / seconds * 1e-6, tokens * flops_per_token / seconds * 1e-12,
                tokens * bytes_per_token / seconds * 1e-9);
    std::fflush(stdout);
  }
  return 0;
}
