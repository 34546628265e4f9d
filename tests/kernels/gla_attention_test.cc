// The chunkwise and recurrent CPU kernels against a plain double-precision recurrence
// written here (DESIGN.md section 3: chunkwise prefill of T tokens gives the same outputs
// and final state as T recurrent steps).
#include "kernels/cpu/gla_attention.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace glaserve::kernels {
namespace {

struct Shape {
  int64_t tokens, dk, dv, group;
  bool initial_state;
};

std::string ShapeName(const ::testing::TestParamInfo<Shape>& info) {
  const Shape& s = info.param;
  return "T" + std::to_string(s.tokens) + "_dk" + std::to_string(s.dk) + "_dv" +
         std::to_string(s.dv) + "_g" + std::to_string(s.group) +
         (s.initial_state ? "_state" : "_zero");
}

// Inputs for one kv head with `group` query heads, packed with padding in the rows so the
// strides differ from the widths (as in the runner's fused projection rows).
struct Inputs {
  explicit Inputs(const Shape& s, uint32_t seed) : shape(s) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> gate(-1.5f, 0.0f);
    q_stride = s.group * s.dk + 3;
    q.resize(s.tokens * q_stride);
    k.resize(s.tokens * (s.dk + 1));
    v.resize(s.tokens * (s.dv + 2));
    a.resize(s.tokens * s.dk);
    for (float& x : q) x = normal(rng) / std::sqrt(static_cast<float>(s.dk));
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    // Mostly mild decay, with some channels decaying hard (exp(-b) would overflow over a
    // chunk if the kernel factored it naively).
    for (size_t i = 0; i < a.size(); ++i) a[i] = (i % 7 == 0) ? -20.0f * -gate(rng) : gate(rng) / 4;
    state.assign(s.dv * s.dk, 0.0f);
    if (s.initial_state) for (float& x : state) x = normal(rng);
  }

  GlaHeadArgs Args(float* state_out, float* out) const {
    GlaHeadArgs args;
    args.num_tokens = shape.tokens;
    args.head_k_dim = shape.dk;
    args.head_v_dim = shape.dv;
    args.num_q_heads = shape.group;
    args.q = q.data();
    args.q_stride = q_stride;
    args.q_head_stride = shape.dk;
    args.k = k.data();
    args.k_stride = shape.dk + 1;
    args.v = v.data();
    args.v_stride = shape.dv + 2;
    args.log_gate = a.data();
    args.log_gate_stride = shape.dk;
    args.state = state_out;
    args.out = out;
    args.out_stride = shape.group * shape.dv;
    args.out_head_stride = shape.dv;
    return args;
  }

  Shape shape;
  int64_t q_stride;
  std::vector<float> q, k, v, a, state;
};

// S = diag(exp(a)) S + k^T v; o = q S, in double, the state as [dk][dv] (the math's own
// orientation, not the kernels' v-first layout).
void ReferenceRecurrence(const Inputs& in, std::vector<double>& state_kv, std::vector<double>& out) {
  const Shape& s = in.shape;
  state_kv.assign(s.dk * s.dv, 0.0);
  for (int64_t j = 0; j < s.dv; ++j)
    for (int64_t i = 0; i < s.dk; ++i) state_kv[i * s.dv + j] = in.state[j * s.dk + i];
  out.assign(s.tokens * s.group * s.dv, 0.0);
  for (int64_t t = 0; t < s.tokens; ++t) {
    for (int64_t i = 0; i < s.dk; ++i) {
      const double decay = std::exp(static_cast<double>(in.a[t * s.dk + i]));
      const double ki = in.k[t * (s.dk + 1) + i];
      for (int64_t j = 0; j < s.dv; ++j) {
        state_kv[i * s.dv + j] = decay * state_kv[i * s.dv + j] + ki * in.v[t * (s.dv + 2) + j];
      }
    }
    for (int64_t g = 0; g < s.group; ++g)
      for (int64_t j = 0; j < s.dv; ++j) {
        double o = 0;
        for (int64_t i = 0; i < s.dk; ++i)
          o += in.q[t * in.q_stride + g * s.dk + i] * state_kv[i * s.dv + j];
        out[(t * s.group + g) * s.dv + j] = o;
      }
  }
}

// |got - want| <= atol + rtol * |want|, reporting the first mismatches.
void ExpectClose(const std::vector<float>& got, const std::vector<double>& want, double atol,
                 double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  int mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::fabs(got[i] - want[i]) > atol + rtol * std::fabs(want[i])) {
      if (++mismatches <= 5) ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << " want " << want[i];
    }
  }
  EXPECT_EQ(mismatches, 0) << what << ": " << mismatches << " of " << got.size() << " differ";
}

class GlaAttentionTest : public ::testing::TestWithParam<Shape> {};

TEST_P(GlaAttentionTest, ChunkwiseAndRecurrentMatchReference) {
  const Shape s = GetParam();
  Inputs in(s, /*seed=*/static_cast<uint32_t>(s.tokens * 31 + s.dk + s.group));
  std::vector<double> want_state_kv, want_out;
  ReferenceRecurrence(in, want_state_kv, want_out);
  std::vector<double> want_state(s.dv * s.dk);  // back to v-first
  for (int64_t j = 0; j < s.dv; ++j)
    for (int64_t i = 0; i < s.dk; ++i) want_state[j * s.dk + i] = want_state_kv[i * s.dv + j];

  // fp32 against double over up to 200 steps: relative 1e-4 plus a small absolute floor.
  for (bool chunkwise : {false, true}) {
    std::vector<float> state = in.state;
    std::vector<float> out(s.tokens * s.group * s.dv, -1.0f);
    GlaHeadArgs args = in.Args(state.data(), out.data());
    chunkwise ? GlaChunkwise(args) : GlaRecurrent(args);
    const std::string name = chunkwise ? "chunkwise" : "recurrent";
    ExpectClose(out, want_out, 2e-4, 1e-4, name + " output");
    ExpectClose(state, want_state, 2e-4, 1e-4, name + " state");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GlaAttentionTest,
    ::testing::Values(Shape{1, 32, 64, 1, false}, Shape{15, 32, 64, 1, true},
                      Shape{64, 32, 64, 1, false}, Shape{65, 32, 64, 1, true},
                      Shape{200, 32, 64, 1, false}, Shape{200, 32, 64, 1, true},
                      Shape{1, 128, 256, 1, true}, Shape{15, 128, 256, 1, false},
                      Shape{64, 128, 256, 1, true}, Shape{65, 128, 256, 1, false},
                      Shape{200, 128, 256, 1, true}, Shape{200, 128, 256, 3, false},
                      Shape{65, 32, 64, 3, true}, Shape{17, 16, 48, 2, true}),
    ShapeName);

// A sequence fed in several pieces (the scheduler's chunked prefill) ends where one pass does.
TEST(GlaAttentionPiecesTest, PiecewisePrefillEqualsOnePass) {
  const Shape s{200, 32, 64, 2, true};
  Inputs in(s, 7);
  std::vector<float> one_state = in.state, one_out(s.tokens * s.group * s.dv);
  GlaChunkwise(in.Args(one_state.data(), one_out.data()));

  std::vector<float> piece_state = in.state, piece_out(s.tokens * s.group * s.dv);
  int64_t start = 0;
  for (int64_t length : {100, 37, 1, 62}) {
    GlaHeadArgs args = in.Args(piece_state.data(), piece_out.data());
    args.num_tokens = length;
    args.q += start * args.q_stride;
    args.k += start * args.k_stride;
    args.v += start * args.v_stride;
    args.log_gate += start * args.log_gate_stride;
    args.out += start * args.out_stride;
    length == 1 ? GlaRecurrent(args) : GlaChunkwise(args);
    start += length;
  }
  ASSERT_EQ(start, s.tokens);
  std::vector<double> want_out(one_out.begin(), one_out.end());
  std::vector<double> want_state(one_state.begin(), one_state.end());
  ExpectClose(piece_out, want_out, 1e-4, 1e-4, "pieces output");
  ExpectClose(piece_state, want_state, 1e-4, 1e-4, "pieces state");
}

}  // namespace
}  // namespace glaserve::kernels
