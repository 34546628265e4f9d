// The CUDA chunkwise prefill against the CPU chunkwise reference (kernels/cpu), per
// sequence and kv head: varlen batches (partial chunks, 1-token sequences, zero lengths),
// non-zero initial states at scattered slots, grouped kv heads, every dk and dv, fp32 and
// bf16 states; and the hand-off to the decode kernel. Skips where no GPU is.
//
// Tolerances: the kernel multiplies bf16 operands (fp32 accumulation, fp32 carried state),
// so the relative-norm error is a few 1e-3; elementwise, |got - want| <= 0.05 * rms(want)
// + 0.05 * |want|.
#include "kernels/cuda/gla_chunkwise.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/cpu/gla_attention.h"
#include "kernels/cpu/half_convert.h"
#include "kernels/cuda/gla_decode.h"
#include "tests/kernels/cuda/device_buffer.h"

namespace glaserve::kernels::cuda {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kMaxRelativeError = 1e-2;
constexpr float kElementTol = 0.05f;  // atol as a fraction of rms(want), and rtol

struct ChunkwiseShape {
  std::vector<int32_t> lengths;
  int heads, kv_heads, dk, dv;
  StateDType state;
};

// A packed batch: q, k, v and a are column slices of one wide row per token, as the
// runner's fused projection leaves them; states at scattered, distinct slots.
struct Problem {
  ChunkwiseShape shape;
  int64_t tokens = 0, width = 0, q_col = 0, k_col = 0, v_col = 0, a_col = 0;
  std::vector<float> rows;  // [T, width]
  int64_t slot_stride = 0;
  std::vector<int32_t> slots;
  std::vector<float> state;  // [slots, H_kv, dv, dk], bf16-representable for a bf16 state
};

Problem MakeProblem(const ChunkwiseShape& shape, uint32_t seed) {
  Problem p;
  p.shape = shape;
  const int h = shape.heads, hkv = shape.kv_heads, dk = shape.dk, dv = shape.dv;
  for (int32_t length : shape.lengths) p.tokens += length;
  p.q_col = 4;  // an offset, so no slice starts at the row start
  p.k_col = p.q_col + h * dk;
  p.v_col = p.k_col + hkv * dk;
  p.a_col = p.v_col + hkv * dv;
  p.width = p.a_col + hkv * dk + 8;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  // Per-channel decay rates from 0.005 (long memory) to 2 (forgets within a few tokens).
  std::vector<float> rate(hkv * dk);
  for (float& r : rate) r = std::exp(std::log(0.005f) + uniform(rng) * std::log(400.0f));
  p.rows.assign(p.tokens * p.width, kNaN);  // unused columns stay NaN: reading one shows
  const float q_scale = 1.0f / std::sqrt(float(dk));
  for (int64_t t = 0; t < p.tokens; ++t) {
    float* row = p.rows.data() + t * p.width;
    for (int i = 0; i < h * dk; ++i) row[p.q_col + i] = normal(rng) * q_scale;
    for (int i = 0; i < hkv * dk; ++i) row[p.k_col + i] = normal(rng);
    for (int i = 0; i < hkv * dv; ++i) row[p.v_col + i] = normal(rng);
    for (int i = 0; i < hkv * dk; ++i) row[p.a_col + i] = -rate[i] * uniform(rng);
  }
  const int num_seqs = static_cast<int>(shape.lengths.size()), num_slots = 2 * num_seqs + 1;
  for (int b = 0; b < num_seqs; ++b) p.slots.push_back((b * 2 + 1) % num_slots);
  p.slot_stride = int64_t(hkv) * dv * dk + 64;  // slots need not be packed
  p.state.resize(num_slots * p.slot_stride);
  for (float& e : p.state) e = normal(rng);
  if (shape.state == StateDType::kBF16) {
    for (float& e : p.state) e = Bf16ToFloat(FloatToBf16(e));
  }
  return p;
}

// Each sequence and kv head through the CPU chunkwise form; state updated in place.
std::vector<float> CpuReference(const Problem& p, std::vector<float>& state) {
  const ChunkwiseShape& s = p.shape;
  const int group = s.heads / s.kv_heads;
  std::vector<float> out(p.tokens * s.heads * s.dv, 0.0f);
  int64_t token = 0;
  for (size_t b = 0; b < s.lengths.size(); ++b) {
    for (int h = 0; h < s.kv_heads && s.lengths[b] > 0; ++h) {
      const float* row = p.rows.data() + token * p.width;
      GlaHeadArgs cpu;
      cpu.num_tokens = s.lengths[b];
      cpu.head_k_dim = s.dk;
      cpu.head_v_dim = s.dv;
      cpu.num_q_heads = group;
      cpu.q = row + p.q_col + h * group * s.dk;
      cpu.q_stride = p.width;
      cpu.q_head_stride = s.dk;
      cpu.k = row + p.k_col + h * s.dk;
      cpu.k_stride = p.width;
      cpu.v = row + p.v_col + h * s.dv;
      cpu.v_stride = p.width;
      cpu.log_gate = row + p.a_col + h * s.dk;
      cpu.log_gate_stride = p.width;
      cpu.state = state.data() + p.slots[b] * p.slot_stride + int64_t(h) * s.dv * s.dk;
      cpu.out = out.data() + (token * s.heads + h * group) * s.dv;
      cpu.out_stride = int64_t(s.heads) * s.dv;
      cpu.out_head_stride = s.dv;
      GlaChunkwise(cpu);
    }
    token += s.lengths[b];
  }
  return out;
}

// The problem's buffers on the device; the output rows carry 2 floats of padding that
// must stay NaN.
class DeviceProblem {
 public:
  explicit DeviceProblem(const Problem& p)
      : p_(p),
        out_stride_(int64_t(p.shape.heads) * p.shape.dv + 2),
        rows_(p.rows),
        slots_(p.slots),
        state_f32_(p.shape.state == StateDType::kF32 ? p.state : std::vector<float>()),
        state_bf16_(p.shape.state == StateDType::kBF16 ? ToBf16(p.state) : std::vector<uint16_t>()),
        out_(std::vector<float>(std::max<int64_t>(p.tokens, 1) * out_stride_, kNaN)) {}

  GlaChunkwiseArgs Args() {
    const ChunkwiseShape& s = p_.shape;
    GlaChunkwiseArgs args;
    args.num_heads = s.heads;
    args.num_kv_heads = s.kv_heads;
    args.head_k_dim = s.dk;
    args.head_v_dim = s.dv;
    args.q = rows_.data() + p_.q_col;
    args.q_stride = p_.width;
    args.k = rows_.data() + p_.k_col;
    args.k_stride = p_.width;
    args.v = rows_.data() + p_.v_col;
    args.v_stride = p_.width;
    args.log_gate = rows_.data() + p_.a_col;
    args.log_gate_stride = p_.width;
    args.slots = slots_.data();
    args.state = s.state == StateDType::kF32 ? static_cast<void*>(state_f32_.data()) : state_bf16_.data();
    args.slot_stride = p_.slot_stride;
    args.state_dtype = s.state;
    args.out = out_.data();
    args.out_stride = out_stride_;
    return args;
  }

  cudaError_t Launch(GlaChunkwiseWorkspace& workspace) {
    const std::vector<int32_t>& lengths = p_.shape.lengths;
    return LaunchGlaChunkwise(Args(), std::span<const int32_t>(lengths), workspace, nullptr);
  }

  // [T, H, dv]; fails the test where a padding column was written.
  std::vector<float> Out() const {
    const std::vector<float> padded = out_.ToHost();
    const int64_t width = int64_t(p_.shape.heads) * p_.shape.dv;
    std::vector<float> out(p_.tokens * width);
    for (int64_t t = 0; t < p_.tokens; ++t) {
      for (int64_t i = 0; i < width; ++i) out[t * width + i] = padded[t * out_stride_ + i];
      EXPECT_TRUE(std::isnan(padded[t * out_stride_ + width]) && std::isnan(padded[t * out_stride_ + width + 1]))
          << "padding of output row " << t << " written";
    }
    return out;
  }

  std::vector<float> State() const {
    if (p_.shape.state == StateDType::kF32) return state_f32_.ToHost();
    const std::vector<uint16_t> bits = state_bf16_.ToHost();
    std::vector<float> state(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) state[i] = Bf16ToFloat(bits[i]);
    return state;
  }

  float* rows() { return rows_.data(); }
  int32_t* slots() { return slots_.data(); }
  void* state() {
    return p_.shape.state == StateDType::kF32 ? static_cast<void*>(state_f32_.data()) : state_bf16_.data();
  }

 private:
  static std::vector<uint16_t> ToBf16(const std::vector<float>& x) {
    std::vector<uint16_t> bits(x.size());
    for (size_t i = 0; i < x.size(); ++i) bits[i] = FloatToBf16(x[i]);
    return bits;
  }

  const Problem& p_;
  int64_t out_stride_;
  testing::DeviceBuffer<float> rows_;
  testing::DeviceBuffer<int32_t> slots_;
  testing::DeviceBuffer<float> state_f32_;
  testing::DeviceBuffer<uint16_t> state_bf16_;
  testing::DeviceBuffer<float> out_;
};

double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    diff += std::isnan(got[i]) ? std::numeric_limits<double>::infinity() : d * d;
    norm += double(want[i]) * want[i];
  }
  return std::sqrt(diff / std::max(norm, 1e-30));
}

float Rms(const std::vector<float>& x) {
  double sum = 0;
  for (float e : x) sum += double(e) * e;
  return static_cast<float>(std::sqrt(sum / std::max<size_t>(x.size(), 1)));
}

// Relative-norm error within kMaxRelativeError, and elementwise closeness.
void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  const double rel = RelativeError(got, want);
  std::printf("  %-28s relative-norm error %.3e\n", what.c_str(), rel);
  EXPECT_LT(rel, kMaxRelativeError) << what;
  testing::ExpectAllClose(got, want, kElementTol * Rms(want), kElementTol, what);
}

class GlaChunkwiseCudaTest : public ::testing::TestWithParam<ChunkwiseShape> {
 protected:
  void SetUp() override {
    if (!testing::HasGpu()) GTEST_SKIP() << "no CUDA GPU on this machine";
  }
};

TEST_P(GlaChunkwiseCudaTest, MatchesCpuChunkwise) {
  const ChunkwiseShape& shape = GetParam();
  const Problem p = MakeProblem(shape, 1234u + shape.dk * 3 + shape.dv + shape.heads);
  std::vector<float> want_state = p.state;
  const std::vector<float> want_out = CpuReference(p, want_state);

  DeviceProblem d(p);
  GlaChunkwiseWorkspace workspace;
  ASSERT_EQ(d.Launch(workspace), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  ExpectClose(d.Out(), want_out, "out");
  ExpectClose(d.State(), want_state, "state (all slots)");  // slots outside the batch stay as they were
}

std::string ShapeName(const ::testing::TestParamInfo<ChunkwiseShape>& info) {
  const ChunkwiseShape& s = info.param;
  int64_t tokens = 0;
  for (int32_t length : s.lengths) tokens += length;
  return "B" + std::to_string(s.lengths.size()) + "_T" + std::to_string(tokens) + "_H" + std::to_string(s.heads) +
         "_Hkv" + std::to_string(s.kv_heads) + "_dk" + std::to_string(s.dk) + "_dv" + std::to_string(s.dv) +
         (s.state == StateDType::kF32 ? "_f32" : "_bf16");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GlaChunkwiseCudaTest,
    ::testing::Values(
        ChunkwiseShape{{1, 15, 16, 63, 64, 65, 200, 1000}, 4, 2, 64, 64, StateDType::kF32},
        ChunkwiseShape{{200, 1, 64, 65, 17}, 4, 4, 128, 256, StateDType::kF32},
        ChunkwiseShape{{1000, 16, 63, 1}, 4, 4, 256, 512, StateDType::kF32},
        ChunkwiseShape{{65, 200, 15, 64}, 4, 2, 256, 128, StateDType::kBF16},
        ChunkwiseShape{{1, 15, 16, 63, 64, 65, 200, 1000}, 8, 2, 128, 512, StateDType::kBF16},
        ChunkwiseShape{{300, 0, 77}, 16, 1, 64, 256, StateDType::kBF16},
        ChunkwiseShape{{129, 500}, 4, 4, 256, 64, StateDType::kF32}),
    ShapeName);

// Chunkwise over T tokens, then one decode step, equals chunkwise over T + 1 tokens:
// the two kernels hand the state over in the same layout. Also reuses one workspace
// across different and repeated batches (a repeated batch must give identical bits).
TEST_F(GlaChunkwiseCudaTest, PrefillThenDecodeEqualsLongerPrefill) {
  const ChunkwiseShape longer{{130, 64, 1}, 4, 2, 128, 128, StateDType::kF32};
  const Problem full = MakeProblem(longer, 99);
  // The same tokens without each sequence's last one, and those last tokens by themselves.
  ChunkwiseShape shorter = longer;
  for (int32_t& length : shorter.lengths) length -= 1;
  Problem prefix = full;
  prefix.shape = shorter;
  prefix.tokens = 0;
  prefix.rows.clear();
  std::vector<float> last_rows;
  int64_t token = 0;
  for (int32_t length : longer.lengths) {
    const float* seq = full.rows.data() + token * full.width;
    prefix.rows.insert(prefix.rows.end(), seq, seq + (length - 1) * full.width);
    last_rows.insert(last_rows.end(), seq + (length - 1) * full.width, seq + length * full.width);
    prefix.tokens += length - 1;
    token += length;
  }

  GlaChunkwiseWorkspace workspace;
  DeviceProblem a(prefix);
  ASSERT_EQ(a.Launch(workspace), cudaSuccess);
  const int batch = static_cast<int>(longer.lengths.size());
  testing::DeviceBuffer<float> d_last(last_rows);
  testing::DeviceBuffer<float> d_step_out(std::vector<float>(batch * longer.heads * longer.dv, kNaN));
  GlaDecodeArgs step;
  step.batch = batch;
  step.num_heads = longer.heads;
  step.num_kv_heads = longer.kv_heads;
  step.head_k_dim = longer.dk;
  step.head_v_dim = longer.dv;
  step.q = d_last.data() + full.q_col;
  step.q_stride = full.width;
  step.k = d_last.data() + full.k_col;
  step.k_stride = full.width;
  step.v = d_last.data() + full.v_col;
  step.v_stride = full.width;
  step.log_gate = d_last.data() + full.a_col;
  step.log_gate_stride = full.width;
  step.slots = a.slots();
  step.state = a.state();
  step.slot_stride = full.slot_stride;
  step.state_dtype = longer.state;
  step.out = d_step_out.data();
  step.out_stride = int64_t(longer.heads) * longer.dv;
  ASSERT_EQ(LaunchGlaDecode(step, nullptr), cudaSuccess);

  DeviceProblem b(full);
  ASSERT_EQ(b.Launch(workspace), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const std::vector<float> b_out = b.Out(), b_state = b.State();
  ExpectClose(a.State(), b_state, "state after prefill+decode");
  // The longer prefill's output at each sequence's last token.
  const int64_t width = int64_t(longer.heads) * longer.dv;
  std::vector<float> b_last;
  token = 0;
  for (int32_t length : longer.lengths) {
    token += length;
    b_last.insert(b_last.end(), b_out.begin() + (token - 1) * width, b_out.begin() + token * width);
  }
  ExpectClose(d_step_out.ToHost(), b_last, "decode out vs last token");

  // Same batch again from the same initial state, same (cached) workspace: same bits.
  DeviceProblem c(full);
  ASSERT_EQ(c.Launch(workspace), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(c.Out(), b_out);
  EXPECT_EQ(c.State(), b_state);
}

TEST(GlaChunkwiseCudaArgsTest, RejectsBadShapesAndSkipsEmptyBatches) {
  GlaChunkwiseWorkspace workspace;
  GlaChunkwiseArgs args;
  args.num_heads = 4;
  args.num_kv_heads = 4;
  args.head_k_dim = 96;  // unsupported
  args.head_v_dim = 128;
  const std::vector<int32_t> lengths = {5, 70};
  EXPECT_EQ(LaunchGlaChunkwise(args, lengths.data(), 2, workspace, nullptr), cudaErrorInvalidValue);
  args.head_k_dim = 128;
  args.num_kv_heads = 3;  // does not divide H
  EXPECT_EQ(LaunchGlaChunkwise(args, lengths.data(), 2, workspace, nullptr), cudaErrorInvalidValue);
  args.num_kv_heads = 2;
  args.head_v_dim = 96;  // not a multiple of 64
  EXPECT_EQ(LaunchGlaChunkwise(args, lengths.data(), 2, workspace, nullptr), cudaErrorInvalidValue);
  args.head_v_dim = 128;
  const std::vector<int32_t> negative = {5, -1};
  EXPECT_EQ(LaunchGlaChunkwise(args, negative.data(), 2, workspace, nullptr), cudaErrorInvalidValue);
  // No tokens: nothing to do, and no buffers are touched.
  const std::vector<int32_t> empty = {0, 0};
  EXPECT_EQ(LaunchGlaChunkwise(args, empty.data(), 2, workspace, nullptr), cudaSuccess);
  EXPECT_EQ(LaunchGlaChunkwise(args, nullptr, 0, workspace, nullptr), cudaSuccess);
  // Tokens but missing buffers.
  EXPECT_EQ(LaunchGlaChunkwise(args, lengths.data(), 2, workspace, nullptr), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace glaserve::kernels::cuda
