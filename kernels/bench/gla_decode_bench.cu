// The recurrent decode kernel alone (issue 4: state bytes moved per second against the
// measured copy bandwidth, target >= 85%), on the gla-1.3B attention shape (H = H_kv = 4,
// dk = 256, dv = 512): one layer's step for B sequences at scattered slots, fp32 and bf16
// states. Usage: glaserve_bench_gla_decode [--quick]
#include <cuda_bf16.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/bench/bench_util.h"
#include "kernels/cuda/gla_decode.h"

namespace glaserve::bench {
namespace {

using kernels::cuda::GlaDecodeArgs;
using kernels::cuda::StateDType;

__global__ void FillKernel(float* x, size_t n, float scale, unsigned seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    unsigned h = (unsigned(i) ^ seed) * 2654435761u;
    h ^= h >> 16;
    x[i] = scale * (float(h & 0xffff) / 32768.0f - 1.0f);
  }
}

__global__ void FillBf16Kernel(__nv_bfloat16* x, size_t n, unsigned seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    unsigned h = (unsigned(i) ^ seed) * 2654435761u;
    h ^= h >> 16;
    x[i] = __float2bfloat16(float(h & 0xffff) / 32768.0f - 1.0f);
  }
}

int Run(bool quick) {
  const int heads = 4, kv_heads = 4, dk = 256, dv = 512;
  cudaStream_t stream;
  Check(cudaStreamCreate(&stream), "cudaStreamCreate");
  const double copy_bw = MeasureCopyBandwidth(stream);
  std::printf("measured copy bandwidth (read + write): %.0f GB/s\n\n", copy_bw / 1e9);
  std::printf("| state | batch | us per layer step | state GB/s | fraction of copy bandwidth |\n|---|---|---|---|---|\n");

  const std::vector<int> batches = quick ? std::vector<int>{1, 32, 512} : std::vector<int>{1, 32, 128, 512, 1024};
  for (StateDType dtype : {StateDType::kF32, StateDType::kBF16}) {
    for (int batch : batches) {
      const int num_slots = batch * 2;  // slots scattered over twice the memory touched
      const size_t slot_elements = size_t(kv_heads) * dv * dk;
      const size_t elem = dtype == StateDType::kF32 ? 4 : 2;
      float *q, *k, *v, *a, *out;
      void* state;
      int32_t* slots;
      Check(cudaMalloc(&q, size_t(batch) * heads * dk * 4), "malloc");
      Check(cudaMalloc(&k, size_t(batch) * kv_heads * dk * 4), "malloc");
      Check(cudaMalloc(&v, size_t(batch) * kv_heads * dv * 4), "malloc");
      Check(cudaMalloc(&a, size_t(batch) * kv_heads * dk * 4), "malloc");
      Check(cudaMalloc(&out, size_t(batch) * heads * dv * 4), "malloc");
      Check(cudaMalloc(&state, num_slots * slot_elements * elem), "malloc");
      Check(cudaMalloc(&slots, batch * 4), "malloc");
      FillKernel<<<1024, 256, 0, stream>>>(q, size_t(batch) * heads * dk, 0.06f, 1);
      FillKernel<<<1024, 256, 0, stream>>>(k, size_t(batch) * kv_heads * dk, 1.0f, 2);
      FillKernel<<<1024, 256, 0, stream>>>(v, size_t(batch) * kv_heads * dv, 1.0f, 3);
      FillKernel<<<1024, 256, 0, stream>>>(a, size_t(batch) * kv_heads * dk, 0.05f, 4);  // |a| small: values stay finite
      if (dtype == StateDType::kF32) {
        FillKernel<<<4096, 256, 0, stream>>>(static_cast<float*>(state), num_slots * slot_elements, 1.0f, 5);
      } else {
        FillBf16Kernel<<<4096, 256, 0, stream>>>(static_cast<__nv_bfloat16*>(state), num_slots * slot_elements, 5);
      }
      std::vector<int32_t> host_slots(batch);
      for (int b = 0; b < batch; ++b) host_slots[b] = (b * 7919) % num_slots;  // distinct: 7919 is prime
      Check(cudaMemcpy(slots, host_slots.data(), batch * 4, cudaMemcpyHostToDevice), "memcpy");

      GlaDecodeArgs args;
      args.batch = batch;
      args.num_heads = heads;
      args.num_kv_heads = kv_heads;
      args.head_k_dim = dk;
      args.head_v_dim = dv;
      args.q = q;
      args.q_stride = heads * dk;
      args.k = k;
      args.k_stride = kv_heads * dk;
      args.v = v;
      args.v_stride = kv_heads * dv;
      args.log_gate = a;
      args.log_gate_stride = kv_heads * dk;
      args.slots = slots;
      args.state = state;
      args.slot_stride = slot_elements;
      args.state_dtype = dtype;
      args.out = out;
      args.out_stride = heads * dv;
      const double ms = MedianMs([&] { Check(kernels::cuda::LaunchGlaDecode(args, stream), "decode"); }, stream, 5,
                                 quick ? 20 : 50);
      const double bytes = 2.0 * batch * slot_elements * elem;  // each state element read and written once
      std::printf("| %s | %d | %.1f | %.0f | %.2f |\n", dtype == StateDType::kF32 ? "fp32" : "bf16", batch, ms * 1e3,
                  bytes / (ms * 1e-3) / 1e9, bytes / (ms * 1e-3) / copy_bw);
      for (void* p : {(void*)q, (void*)k, (void*)v, (void*)a, (void*)out, state, (void*)slots}) cudaFree(p);
    }
  }
  return 0;
}

}  // namespace
}  // namespace glaserve::bench

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  return glaserve::bench::Run(quick);
}
