// Checkpoint loading: every supported layout loads the same numbers, and every kind of
// bad input is refused with a message that says what is wrong.
#include "engine/checkpoint.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_checkpoint.h"

namespace glaserve {
namespace {

using ::glaserve::testing::MakeTempDir;
using ::glaserve::testing::ReadFile;
using ::glaserve::testing::WriteFile;
using ::glaserve::testing::WriteRandomCheckpoint;
using ::testing::HasSubstr;
using Json = nlohmann::json;

const std::vector<std::string> kShape = {"--hidden-size", "64", "--num-layers", "2", "--num-heads",
                                         "2", "--vocab-size", "128", "--seed", "5"};

std::vector<std::string> With(std::vector<std::string> args, std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string OpenError(const std::filesystem::path& dir) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir);
  EXPECT_FALSE(checkpoint.ok()) << "loaded a bad checkpoint in " << dir;
  return checkpoint.ok() ? "" : std::string(checkpoint.status().message());
}

// Rewrites the JSON header of a .safetensors file in place, keeping the data bytes.
void EditHeader(const std::filesystem::path& path, const std::function<void(Json&)>& edit) {
  std::string bytes = ReadFile(path);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  Json header = Json::parse(bytes.substr(8, header_size));
  edit(header);
  std::string text = header.dump();
  uint64_t new_size = text.size();
  std::string out(reinterpret_cast<const char*>(&new_size), 8);
  WriteFile(path, out + text + bytes.substr(8 + header_size));
}

TEST(CheckpointTest, LoadsAndValidatesEveryTensor) {
  auto dir = MakeTempDir("valid");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ((*checkpoint)->name(), "valid");
  EXPECT_EQ((*checkpoint)->weight_dtype(), DType::kBF16);
  for (const auto& [name, shape] : ExpectedTensors((*checkpoint)->config())) {
    EXPECT_EQ((*checkpoint)->tensor(name).shape, shape) << name;
  }
}

TEST(CheckpointTest, ShardedAndSingleFileLoadTheSameTensors) {
  auto single = MakeTempDir("single");
  auto sharded = MakeTempDir("sharded");
  ASSERT_TRUE(WriteRandomCheckpoint(single, kShape));
  ASSERT_TRUE(WriteRandomCheckpoint(sharded, With(kShape, {"--shards", "3"})));
  ASSERT_TRUE(std::filesystem::exists(sharded / "model.safetensors.index.json"));
  ASSERT_FALSE(std::filesystem::exists(sharded / "model.safetensors"));
  auto a = Checkpoint::Open(single);
  auto b = Checkpoint::Open(sharded);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  for (const auto& [name, shape] : ExpectedTensors((*a)->config())) {
    EXPECT_EQ((*a)->TensorAsFloat(name), (*b)->TensorAsFloat(name)) << name;
  }
}

// The same seed in each dtype: 16-bit values equal the fp32 ones to their precision,
// which checks the bf16 and f16 conversions too.
TEST(CheckpointTest, Bf16F16F32AllLoadTheSameValues) {
  auto f32 = MakeTempDir("f32");
  ASSERT_TRUE(WriteRandomCheckpoint(f32, With(kShape, {"--dtype", "f32"})));
  auto reference = Checkpoint::Open(f32);
  ASSERT_TRUE(reference.ok()) << reference.status();
  EXPECT_EQ((*reference)->weight_dtype(), DType::kF32);
  for (auto [dtype, rel] : {std::pair{std::string("bf16"), 1.0 / 256}, {std::string("f16"), 1.0 / 2048}}) {
    auto dir = MakeTempDir(dtype);
    ASSERT_TRUE(WriteRandomCheckpoint(dir, With(kShape, {"--dtype", dtype})));
    auto checkpoint = Checkpoint::Open(dir);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    for (const auto& [name, shape] : ExpectedTensors((*reference)->config())) {
      std::vector<float> want = (*reference)->TensorAsFloat(name);
      std::vector<float> got = (*checkpoint)->TensorAsFloat(name);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR(got[i], want[i], std::fabs(want[i]) * rel + 1e-7) << dtype << " " << name << "[" << i << "]";
      }
    }
  }
}

TEST(CheckpointTest, MissingDirectoryOrFiles) {
  EXPECT_THAT(OpenError("/nonexistent/model"), HasSubstr("does not exist"));
  auto dir = MakeTempDir("no_files");
  EXPECT_THAT(OpenError(dir), HasSubstr("config.json"));
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  std::filesystem::remove(dir / "model.safetensors");
  EXPECT_THAT(OpenError(dir), HasSubstr("no model.safetensors"));
}

TEST(CheckpointTest, TruncatedFile) {
  auto dir = MakeTempDir("truncated");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  const auto path = dir / "model.safetensors";
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 100);
  EXPECT_THAT(OpenError(dir), HasSubstr("outside the data section"));
  std::filesystem::resize_file(path, 5);
  EXPECT_THAT(OpenError(dir), HasSubstr("truncated"));
  std::filesystem::resize_file(path, 64);  // header length now points past the end
  EXPECT_THAT(OpenError(dir), HasSubstr("points outside the file"));
}

TEST(CheckpointTest, HeaderThatIsNotJson) {
  auto dir = MakeTempDir("garbage");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  std::string bytes = ReadFile(dir / "model.safetensors");
  bytes[8] = '#';  // the header's opening brace
  WriteFile(dir / "model.safetensors", bytes);
  EXPECT_THAT(OpenError(dir), HasSubstr("not a valid JSON"));
}

TEST(CheckpointTest, OffsetsOutsideTheFile) {
  auto dir = MakeTempDir("offsets");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  EditHeader(dir / "model.safetensors", [](Json& h) {
    h["model.norm.weight"]["data_offsets"] = {0, 1ull << 40};
  });
  EXPECT_THAT(OpenError(dir), HasSubstr("model.norm.weight: data_offsets"));
}

TEST(CheckpointTest, UnsupportedDtype) {
  auto dir = MakeTempDir("dtype");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  EditHeader(dir / "model.safetensors", [](Json& h) { h["model.norm.weight"]["dtype"] = "I8"; });
  EXPECT_THAT(OpenError(dir), HasSubstr("dtype I8 is not supported"));
}

TEST(CheckpointTest, MissingTensor) {
  auto dir = MakeTempDir("missing_tensor");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  EditHeader(dir / "model.safetensors", [](Json& h) { h.erase("model.layers.1.attn.o_proj.weight"); });
  EXPECT_THAT(OpenError(dir), HasSubstr("missing tensor model.layers.1.attn.o_proj.weight"));
}

TEST(CheckpointTest, UnexpectedTensor) {
  auto dir = MakeTempDir("extra_tensor");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  EditHeader(dir / "model.safetensors", [](Json& h) {
    h["model.layers.0.attn.conv1d.weight"] = h["model.norm.weight"];
  });
  EXPECT_THAT(OpenError(dir), HasSubstr("unexpected tensor model.layers.0.attn.conv1d.weight"));
}

TEST(CheckpointTest, WrongShape) {
  auto dir = MakeTempDir("wrong_shape");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, kShape));
  Json config = Json::parse(ReadFile(dir / "config.json"));
  config["intermediate_size"] = 512;  // the weights were written for the derived 256
  WriteFile(dir / "config.json", config.dump());
  EXPECT_THAT(OpenError(dir), HasSubstr("has shape [256, 64] but config.json implies [512, 64]"));
}

TEST(CheckpointTest, UnsupportedConfigOption) {
  auto dir = MakeTempDir("short_conv");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, With(kShape, {"--set", "use_short_conv=true"})));
  EXPECT_THAT(OpenError(dir), HasSubstr("use_short_conv=true is not supported"));
}

TEST(CheckpointTest, ShardIndexErrors) {
  auto dir = MakeTempDir("bad_index");
  ASSERT_TRUE(WriteRandomCheckpoint(dir, With(kShape, {"--shards", "2"})));
  Json index = Json::parse(ReadFile(dir / "model.safetensors.index.json"));
  index["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors";
  WriteFile(dir / "model.safetensors.index.json", index.dump());
  EXPECT_THAT(OpenError(dir), HasSubstr("is not a file name"));
  WriteFile(dir / "model.safetensors.index.json", "{not json");
  EXPECT_THAT(OpenError(dir), HasSubstr("not valid JSON"));
}

}  // namespace
}  // namespace glaserve
