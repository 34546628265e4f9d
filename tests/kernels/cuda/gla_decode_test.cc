// The CUDA decode kernel against the CPU recurrence (kernels/cpu), for every supported dk,
// grouped kv heads, scattered slots, and fp32 and bf16 states. Skips where no GPU is.
#include "kernels/cuda/gla_decode.h"

#include <cuda_runtime.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/gla_attention.h"
#include "kernels/cpu/half_convert.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

struct DecodeShape {
  int batch, heads, kv_heads, dk, dv;
  StateDType state;
};

class GlaDecodeCudaTest : public ::testing::TestWithParam<DecodeShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(GlaDecodeCudaTest, MatchesCpuRecurrence) {
  const DecodeShape s = GetParam();
  const int group = s.heads / s.kv_heads, num_slots = s.batch * 2 + 1;
  std::mt19937 rng(s.dk * 7 + s.batch);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> gate(-2.0f, 0.0f);
  auto fill = [&](std::vector<float>& x, float scale) { for (float& e : x) e = normal(rng) * scale; };
  std::vector<float> q(s.batch * s.heads * s.dk), k(s.batch * s.kv_heads * s.dk), v(s.batch * s.kv_heads * s.dv),
      a(s.batch * s.kv_heads * s.dk);
  fill(q, 1.0f / std::sqrt(float(s.dk)));
  fill(k, 1);
  fill(v, 1);
  for (float& e : a) e = gate(rng);
  std::vector<int32_t> slots(s.batch);
  for (int b = 0; b < s.batch; ++b) slots[b] = (b * 2 + 1) % num_slots;  // scattered, distinct
  const int64_t slot_stride = int64_t(s.kv_heads) * s.dv * s.dk;
  std::vector<float> state(num_slots * slot_stride);
  fill(state, 1);
  if (s.state == StateDType::kBF16) {
    for (float& e : state) e = Bf16ToFloat(FloatToBf16(e));  // start from representable values
  }

  // CPU: each sequence and kv head through GlaRecurrent, one token.
  std::vector<float> want_state = state, want_out(s.batch * s.heads * s.dv);
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.kv_heads; ++h) {
      GlaHeadArgs cpu;
      cpu.num_tokens = 1;
      cpu.head_k_dim = s.dk;
      cpu.head_v_dim = s.dv;
      cpu.num_q_heads = group;
      cpu.q = q.data() + (b * s.heads + h * group) * s.dk;
      cpu.q_head_stride = s.dk;
      cpu.k = k.data() + (b * s.kv_heads + h) * s.dk;
      cpu.v = v.data() + (b * s.kv_heads + h) * s.dv;
      cpu.log_gate = a.data() + (b * s.kv_heads + h) * s.dk;
      cpu.state = want_state.data() + slots[b] * slot_stride + int64_t(h) * s.dv * s.dk;
      cpu.out = want_out.data() + (b * s.heads + h * group) * s.dv;
      cpu.out_head_stride = s.dv;
      GlaRecurrent(cpu);
    }
  }

  testing::DeviceBuffer<float> d_q(q), d_k(k), d_v(v), d_a(a), d_out(std::vector<float>(want_out.size()));
  testing::DeviceBuffer<int32_t> d_slots(slots);
  std::vector<uint16_t> state_bf16(state.size());
  for (size_t i = 0; i < state.size(); ++i) state_bf16[i] = FloatToBf16(state[i]);
  testing::DeviceBuffer<float> d_state_f32(s.state == StateDType::kF32 ? state : std::vector<float>());
  testing::DeviceBuffer<uint16_t> d_state_bf16(s.state == StateDType::kBF16 ? state_bf16 : std::vector<uint16_t>());

  GlaDecodeArgs args;
  args.batch = s.batch;
  args.num_heads = s.heads;
  args.num_kv_heads = s.kv_heads;
  args.head_k_dim = s.dk;
  args.head_v_dim = s.dv;
  args.q = d_q.data();
  args.q_stride = s.heads * s.dk;
  args.k = d_k.data();
  args.k_stride = s.kv_heads * s.dk;
  args.v = d_v.data();
  args.v_stride = s.kv_heads * s.dv;
  args.log_gate = d_a.data();
  args.log_gate_stride = s.kv_heads * s.dk;
  args.slots = d_slots.data();
  args.state = s.state == StateDType::kF32 ? static_cast<void*>(d_state_f32.data()) : d_state_bf16.data();
  args.slot_stride = slot_stride;
  args.state_dtype = s.state;
  args.out = d_out.data();
  args.out_stride = s.heads * s.dv;
  ASSERT_EQ(LaunchGlaDecode(args, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  std::vector<float> got_state = state;
  if (s.state == StateDType::kF32) {
    got_state = d_state_f32.ToHost();
  } else {
    std::vector<uint16_t> bits = d_state_bf16.ToHost();
    for (size_t i = 0; i < bits.size(); ++i) got_state[i] = Bf16ToFloat(bits[i]);
  }
  // fp32: differences are accumulation order only. bf16: the state is rounded once on store.
  const float rtol = s.state == StateDType::kF32 ? 1e-5f : 8e-3f;
  testing::ExpectAllClose(d_out.ToHost(), want_out, 1e-4f + rtol, rtol, "out");
  testing::ExpectAllClose(got_state, want_state, 1e-5f, rtol, "state");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GlaDecodeCudaTest,
    ::testing::Values(DecodeShape{1, 4, 4, 128, 256, StateDType::kF32},
                      DecodeShape{7, 4, 4, 256, 512, StateDType::kF32},
                      DecodeShape{5, 4, 2, 64, 64, StateDType::kF32},
                      DecodeShape{3, 6, 2, 128, 128, StateDType::kF32},
                      DecodeShape{33, 4, 4, 128, 256, StateDType::kBF16},
                      DecodeShape{2, 4, 1, 256, 512, StateDType::kBF16},
                      // 67 MB of bf16 state in the step, more than an H100's L2: the
                      // launcher takes the streaming (evict-first) variant.
                      DecodeShape{64, 4, 4, 256, 512, StateDType::kBF16}),
    [](const auto& info) {
      const DecodeShape& s = info.param;
      return "B" + std::to_string(s.batch) + "_H" + std::to_string(s.heads) + "_Hkv" + std::to_string(s.kv_heads) +
             "_dk" + std::to_string(s.dk) + "_dv" + std::to_string(s.dv) +
             (s.state == StateDType::kF32 ? "_f32" : "_bf16");
    });

}  // namespace
}  // namespace glaserve::kernels::cuda
