// Our SentencePiece implementation against the real one: models trained at test time by
// spm_train, and spm_encode / spm_decode (run in their own processes) as the oracle.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/sentencepiece_model.h"
#include "engine/sentencepiece_processor.h"
#include "engine/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_checkpoint.h"
#include "tests/testing/test_tokenizer.h"

namespace glaserve {
namespace {

using ::glaserve::testing::MakeTempDir;
using ::glaserve::testing::ReadFile;
using ::glaserve::testing::WriteFile;
using ::testing::HasSubstr;

const std::string kCorpus = absl::StrCat(GLASERVE_SOURCE_DIR, "/tests/data/tokenizer_corpus.txt");

// Strings that stress normalization and segmentation. spm_encode reads lines, so none
// holds a newline (NewlinesAreEncodedLikeOtherCharacters covers those).
std::vector<std::string> TrickyStrings() {
  return {"", " ", "   ", "  leading spaces", "trailing spaces   ", "multiple   spaces  inside  ",
          "\ttabs\tand\t\tmore tabs\t", "carriage\rreturn\r", "form\ffeed and vertical\vtab",
          std::string("a NUL\0inside", 12),
          "Emoji 🎉🦀👍🏽 and a family 👨‍👩‍👧 and flags 🇯🇵",
          "今天天气很好，鱼和熊猫。東京タワー", "한국어 텍스트와 ひらがな カタカナ",
          "combining: e\u0301 n\u0303 a\u0308 o\u0302\u0323", "precomposed: é ñ ä ộ",
          "full-width: ＡＢＣ１２３！？ Ｈｅｌｌｏ　ｗｏｒｌｄ",
          "ligatures and compatibility: ﬁ ﬂ ㌀ ① ² ½ Ǆ ™ …",
          "spaces: a\u00A0b\u2002c\u3000d\u202Fe",
          "invisible: zero\u200Bwidth soft\u00ADhyphen bom\uFEFF",
          "invalid UTF-8: \xFF\xFE \xC3 \xE2\x82 \xF0\x9F\x98 \xED\xA0\x80 \xC0\xAF end",
          "\xF0\x9F", "literal pieces: <s> </s> <unk> <0x41> <pad> ▁ ▁▁ x▁y",
          "user-defined: <br>hello<br> [MASK] 🙂🙂 the thing singing",
          "Numbers: 0123456789 3.14159 1,000,000 ١٢٣", std::string(300, 'a'),
          // Runs where the same pair merges at several places: the leftmost goes first.
          "eeeeeee ttttttt ooo sss lllll nnnn       seven spaces alll llll blllb",
          "hahahaha nanananana abababab thethethe inging ......... !!!!!! 1111",
          "the the the the the the the the", "Ο ήλιος λάμπει πάνω από τη θάλασσα",
          "Привет, мир! Как дела?", "mixed: αβγ 東京 👋 end", "abc... ab\tx été ÉTÉ A"};
}

std::vector<std::string> CorpusLines() {
  return absl::StrSplit(ReadFile(kCorpus), '\n', absl::SkipEmpty());
}

// Runs `command`, failing the test when it does not exit 0.
void Run(const std::string& command) {
  const int rc = std::system(command.c_str());
  ASSERT_EQ(rc, 0) << command;
}

// The lines of `path`, without their newlines.
std::vector<std::string> ReadLines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// spm_encode's ids for each of `texts`.
std::vector<std::vector<int32_t>> SpmEncode(const std::filesystem::path& model,
                                            const std::vector<std::string>& texts) {
  const std::filesystem::path dir = MakeTempDir("spm_encode");
  WriteFile(dir / "in.txt", absl::StrCat(absl::StrJoin(texts, "\n"), "\n"));
  Run(absl::StrCat("spm_encode --model='", model.string(), "' --output_format=id <'",
                   (dir / "in.txt").string(), "' >'", (dir / "out.txt").string(), "'"));
  std::vector<std::vector<int32_t>> encodings;
  for (const std::string& line : ReadLines(dir / "out.txt")) {
    std::vector<int32_t>& ids = encodings.emplace_back();
    for (absl::string_view id : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      ids.push_back(std::stoi(std::string(id)));
    }
  }
  return encodings;
}

// spm_decode's text for each of `encodings` (which must be non-empty and decode to no
// newline).
std::vector<std::string> SpmDecode(const std::filesystem::path& model,
                                   const std::vector<std::vector<int32_t>>& encodings) {
  const std::filesystem::path dir = MakeTempDir("spm_decode");
  std::string input;
  for (const auto& ids : encodings) absl::StrAppend(&input, absl::StrJoin(ids, " "), "\n");
  WriteFile(dir / "in.txt", input);
  Run(absl::StrCat("spm_decode --model='", model.string(), "' --input_format=id <'",
                   (dir / "in.txt").string(), "' >'", (dir / "out.txt").string(), "'"));
  return ReadLines(dir / "out.txt");
}

// A tiny protobuf writer, for hand-made and edited models.
std::string Varint(uint64_t value) {
  std::string bytes;
  do {
    bytes.push_back(static_cast<char>((value & 0x7F) | (value >= 0x80 ? 0x80 : 0)));
    value >>= 7;
  } while (value != 0);
  return bytes;
}
std::string Tag(int field, int wire_type) { return Varint(field << 3 | wire_type); }
std::string VarintField(int field, uint64_t value) { return Tag(field, 0) + Varint(value); }
std::string BytesField(int field, const std::string& bytes) {
  return Tag(field, 2) + Varint(bytes.size()) + bytes;
}
// Reads a varint at `pos` of `bytes` (a well-formed model) and moves past it.
uint64_t ReadVarint(const std::string& bytes, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0; pos < bytes.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(bytes[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) break;
  }
  return value;
}

// `model` with every `every`-th normal piece (from id 10) made UNUSED: spm_train never
// makes such pieces, but edited vocabularies have them.
std::string MarkUnused(const std::string& model, int every) {
  std::string edited;
  size_t pos = 0;
  for (int index = 0; pos < model.size();) {
    const uint64_t tag = ReadVarint(model, pos);
    const uint64_t size = ReadVarint(model, pos);
    std::string message = model.substr(pos, size);
    pos += size;
    if (tag >> 3 == 1) {  // a piece: NORMAL ones carry no type field
      if (index >= 10 && index % every == 0 && message.find('\x18') == std::string::npos) {
        message += VarintField(3, 5);
      }
      ++index;
    }
    edited += BytesField(static_cast<int>(tag >> 3), message);
  }
  return edited;
}

// A model for the oracle tests: how spm_train makes it.
struct OracleModel {
  std::string name;
  std::string flags;    // for spm_train; empty: the shared test tokenizer
  int mark_unused = 0;  // then MarkUnused(model, mark_unused)
};

void PrintTo(const OracleModel& model, std::ostream* os) { *os << model.name; }

// Trains `model` once per process; returns the directory holding its tokenizer.model.
std::filesystem::path ModelDir(const OracleModel& model) {
  static auto* const dirs = new std::map<std::string, std::filesystem::path>();
  if (model.flags.empty()) return testing::BuildTestTokenizerDir();
  if (auto it = dirs->find(model.name); it != dirs->end()) return it->second;
  const std::filesystem::path dir = MakeTempDir(absl::StrCat("spm_", model.name));
  // Rule files for the custom-normalization model: "A"→"a", "ab"→"x", "abc"→"yz",
  // tab and U+3000 to space, "..."→"…", "é" deleted; decoding maps "yz" and "…" back.
  WriteFile(dir / "norm.tsv",
            "41\t61\n61 62\t78\n61 62 63\t79 7A\n3000\t20\n9\t20\n"
            "2E 2E 2E\t2026\nE9\t\n");
  WriteFile(dir / "denorm.tsv", "79 7A\t61 62 63\n2026\t2E 2E 2E\n");
  const std::string flags = absl::StrReplaceAll(model.flags, {{"$DIR", dir.string()}});
  const std::filesystem::path log = dir / "spm_train.log";
  const std::string command =
      absl::StrCat("spm_train --input='", kCorpus, "' --model_prefix='",
                   (dir / "tokenizer").string(), "' ", flags,
                   " --num_threads=1 --input_sentence_size=0 --shuffle_input_sentence=false"
                   " --seed_sentencepiece_size=100000 --random_seed=1 >'",
                   log.string(), "' 2>&1");
  EXPECT_EQ(std::system(command.c_str()), 0) << command << "\n" << ReadFile(log);
  if (model.mark_unused > 0) {
    const std::filesystem::path path = dir / "tokenizer.model";
    WriteFile(path, MarkUnused(ReadFile(path), model.mark_unused));
  }
  (*dirs)[model.name] = dir;
  return dir;
}

const Tokenizer& LoadTokenizer(const OracleModel& model) {
  static auto* const tokenizers = new std::map<std::string, std::unique_ptr<Tokenizer>>();
  auto& tokenizer = (*tokenizers)[model.name];
  if (tokenizer == nullptr) {
    auto loaded = Tokenizer::Load(ModelDir(model), /*bos_token_id=*/1, /*eos_token_id=*/2);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    if (!loaded.ok()) std::abort();
    tokenizer = *std::move(loaded);
  }
  return *tokenizer;
}

const OracleModel kOracleModels[] = {
    {"bpe_identity_bytes", ""},  // the Llama-like test tokenizer
    {"bpe_nfkc", "--model_type=bpe --vocab_size=600"},
    {"bpe_nfkc_bytes", "--model_type=bpe --vocab_size=600 --byte_fallback=true"},
    {"unigram_nfkc_bytes", "--model_type=unigram --vocab_size=600 --byte_fallback=true"},
    {"unigram_unk", "--model_type=unigram --vocab_size=400 --character_coverage=0.98"},
    {"bpe_user_defined",
     "--model_type=bpe --vocab_size=600 --byte_fallback=true --control_symbols='<ctl>'"
     " --user_defined_symbols='<br>,[MASK],🙂,▁the,ing'"},
    {"unigram_user_defined",
     "--model_type=unigram --vocab_size=600 --control_symbols='<ctl>'"
     " --user_defined_symbols='<br>,[MASK],🙂,▁the,ing'"},
    {"bpe_keep_spaces",
     "--model_type=bpe --vocab_size=600 --byte_fallback=true --add_dummy_prefix=false"
     " --remove_extra_whitespaces=false --allow_whitespace_only_pieces=true"},
    {"unigram_no_dummy_prefix", "--model_type=unigram --vocab_size=600 --add_dummy_prefix=false"},
    {"unigram_keep_spaces",
     "--model_type=unigram --vocab_size=600 --remove_extra_whitespaces=false"
     " --normalization_rule_name=identity"},
    {"unigram_suffix", "--model_type=unigram --vocab_size=600 --treat_whitespace_as_suffix=true"},
    {"bpe_unused", "--model_type=bpe --vocab_size=600 --byte_fallback=true", /*mark_unused=*/7},
    {"unigram_unused", "--model_type=unigram --vocab_size=600", /*mark_unused=*/7},
    {"unigram_custom_rules",
     "--model_type=unigram --vocab_size=500 --normalization_rule_tsv=$DIR/norm.tsv"
     " --denormalization_rule_tsv=$DIR/denorm.tsv"},
};

class SentencePieceOracleTest : public ::testing::TestWithParam<OracleModel> {};

TEST_P(SentencePieceOracleTest, EncodeMatchesSpmEncode) {
  const Tokenizer& tokenizer = LoadTokenizer(GetParam());
  std::vector<std::string> texts = CorpusLines();
  for (std::string& text : TrickyStrings()) texts.push_back(std::move(text));
  const std::vector<std::vector<int32_t>> expected =
      SpmEncode(ModelDir(GetParam()) / "tokenizer.model", texts);
  ASSERT_EQ(expected.size(), texts.size());
  int num_mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> ids = tokenizer.EncodeWithoutBos(texts[i]);
    if (ids == expected[i]) continue;
    if (++num_mismatches <= 5) {
      ADD_FAILURE() << "text \"" << absl::CEscape(texts[i])
                    << "\"\n  ours:        " << absl::StrJoin(ids, " ")
                    << "\n  spm_encode:  " << absl::StrJoin(expected[i], " ");
    }
  }
  EXPECT_EQ(num_mismatches, 0) << "of " << texts.size() << " texts";
}

TEST_P(SentencePieceOracleTest, DecodeMatchesSpmDecode) {
  const Tokenizer& tokenizer = LoadTokenizer(GetParam());
  const std::filesystem::path model = ModelDir(GetParam()) / "tokenizer.model";
  std::vector<std::string> texts = CorpusLines();
  for (std::string& text : TrickyStrings()) texts.push_back(std::move(text));
  std::vector<std::vector<int32_t>> encodings;
  for (const auto& ids : SpmEncode(model, texts)) {
    if (!ids.empty()) encodings.push_back(ids);
  }
  // Random ids, and runs of random byte pieces (mostly invalid UTF-8) between text
  // pieces. No sequence may decode to a newline: spm_decode writes one text per line.
  std::vector<int32_t> ids_without_newline;
  std::vector<int32_t> byte_ids;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::optional<uint8_t> byte = tokenizer.ByteValue(id);
    if (byte == '\n') continue;
    ids_without_newline.push_back(id);
    if (byte.has_value()) byte_ids.push_back(id);
  }
  std::mt19937 random(42);
  auto pick = [&](const std::vector<int32_t>& ids) { return ids[random() % ids.size()]; };
  for (int i = 0; i < 300; ++i) {
    std::vector<int32_t>& ids = encodings.emplace_back();
    const int length = 1 + static_cast<int>(random() % 24);
    for (int j = 0; j < length; ++j) {
      ids.push_back(!byte_ids.empty() && random() % 2 == 0 ? pick(byte_ids)
                                                           : pick(ids_without_newline));
    }
  }
  const std::vector<std::string> expected = SpmDecode(model, encodings);
  ASSERT_EQ(expected.size(), encodings.size());
  int num_mismatches = 0;
  for (size_t i = 0; i < encodings.size(); ++i) {
    const std::string text = tokenizer.Decode(encodings[i]);
    if (text == expected[i]) continue;
    if (++num_mismatches <= 5) {
      ADD_FAILURE() << "ids " << absl::StrJoin(encodings[i], " ") << "\n  ours:        \""
                    << absl::CEscape(text) << "\"\n  spm_decode:  \"" << absl::CEscape(expected[i])
                    << "\"";
    }
  }
  EXPECT_EQ(num_mismatches, 0) << "of " << encodings.size() << " id sequences";
}

INSTANTIATE_TEST_SUITE_P(Models, SentencePieceOracleTest, ::testing::ValuesIn(kOracleModels),
                         [](const auto& info) { return info.param.name; });

// spm_encode cannot be given a newline, so check how newlines encode against what the
// oracle gives for the same text with the newline spelled as the character it normalizes
// to: itself under identity rules, a space under nmt_nfkc.
TEST(SentencePieceTest, NewlinesAreEncodedLikeOtherCharacters) {
  const Tokenizer& identity = testing::TestTokenizer();
  const std::string text = "first line\nsecond line\n\nthird\n";
  EXPECT_EQ(identity.Decode(identity.EncodeWithoutBos(text)), text);
  const Tokenizer& nfkc = LoadTokenizer(kOracleModels[1]);
  EXPECT_EQ(nfkc.EncodeWithoutBos(text), nfkc.EncodeWithoutBos("first line second line third"));
}

std::string PieceField(const std::string& text, int type) {
  return BytesField(1, BytesField(1, text) + Tag(2, 5) + std::string("\0\0\x80\xBF", 4) +
                           VarintField(3, type));  // score -1.0
}
// <unk>, "a", "b", "ab" with a unigram model and identity normalization.
std::string TinyModel(const std::string& extra_trainer_spec = "") {
  return PieceField("<unk>", 2) + PieceField("a", 1) + PieceField("b", 1) + PieceField("ab", 1) +
         BytesField(2, VarintField(3, 1) + extra_trainer_spec) +
         BytesField(3, BytesField(1, "identity"));
}

absl::StatusOr<std::unique_ptr<SentencePieceProcessor>> Load(std::string_view bytes) {
  absl::StatusOr<SentencePieceModel> model = ParseSentencePieceModel(bytes);
  if (!model.ok()) return model.status();
  return SentencePieceProcessor::Create(*std::move(model));
}

TEST(SentencePieceModelTest, ParsesAHandWrittenModelAndSkipsUnknownFields) {
  // Unknown fields of every wire type, at the top level and inside messages.
  const std::string unknown = VarintField(99, 300) + Tag(98, 1) + std::string(8, '\x01') +
                              Tag(97, 5) + std::string(4, '\x02') + BytesField(96, "junk");
  const std::string bytes = unknown + TinyModel(unknown) + BytesField(4, "self test");
  absl::StatusOr<SentencePieceModel> model = ParseSentencePieceModel(bytes);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ(model->pieces.size(), 4u);
  EXPECT_EQ(model->pieces[3].text, "ab");
  EXPECT_EQ(model->pieces[3].score, -1.0f);
  EXPECT_EQ(model->pieces[0].type, PieceType::kUnknown);
  EXPECT_EQ(model->model_type, SentencePieceModelType::kUnigram);
  EXPECT_EQ(model->normalizer.name, "identity");
  EXPECT_TRUE(model->normalizer.add_dummy_prefix);
  auto processor = SentencePieceProcessor::Create(*std::move(model));
  ASSERT_TRUE(processor.ok()) << processor.status();
  // The dummy prefix "▁" is unknown, and so is "c"; a run of unknowns is one <unk>.
  EXPECT_EQ((*processor)->Encode("abba"), (std::vector<int32_t>{0, 3, 2, 1}));
  EXPECT_EQ((*processor)->Encode("acca"), (std::vector<int32_t>{0, 1, 0, 1}));
  EXPECT_EQ((*processor)->Decode(std::vector<int32_t>{0, 3, 2, 1}), " \xE2\x81\x87 abba");
}

TEST(SentencePieceModelTest, MalformedModelsAreInvalidArguments) {
  const struct {
    std::string bytes;
    std::string error;
  } kCases[] = {
      {"\x0A\x80", "truncated varint"},
      {"\x0A\x10"
       "abc",
       "past the end"},
      {std::string(11, '\xFF'), "varint longer than 10 bytes"},
      {"\x0B", "wire type 3"},
      {"\x08\x01", "ModelProto.pieces (field 1) has wire type 0"},
      {"\x0D\x01\x02", "truncated fixed-size value"},
      {TinyModel() + BytesField(1, VarintField(3, 9)), "unknown SentencePiece.type 9"},
      {TinyModel(VarintField(3, 3)), "trainer_spec.model_type=WORD is not supported"},
      {TinyModel(VarintField(3, 4)), "trainer_spec.model_type=CHAR is not supported"},
      {TinyModel(VarintField(3, 12)), "unknown TrainerSpec.model_type 12"},
      {PieceField("a", 1) + BytesField(2, ""), "no piece has type UNKNOWN"},
      {TinyModel() + PieceField("a", 1), "piece 4 \"a\" is repeated"},
      {TinyModel() + PieceField("", 1), "piece 4 is empty"},
      {TinyModel() + PieceField("<0x41>", 6), "byte_fallback is false"},
      {TinyModel(VarintField(35, 1)), "no byte piece for 0x0"},
      {TinyModel() + BytesField(3, BytesField(2, "abc")), "too short"},
      {TinyModel() + BytesField(3, BytesField(2, std::string("\xFF\0\0\0xyz", 7))),
       "precompiled_charsmap claims"},
      {TinyModel() + BytesField(5, BytesField(2, std::string("\x04\0\0\0\0\0\0\0x", 9))),
       "denormalizer_spec.precompiled_charsmap: the targets do not end in NUL"},
  };
  for (const auto& [bytes, error] : kCases) {
    auto processor = Load(bytes);
    EXPECT_EQ(processor.status().code(), absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bytes);
    EXPECT_THAT(processor.status().message(), HasSubstr(error)) << absl::CEscape(bytes);
  }
}

// Where a serialized ModelProto can be cut and still parse: between top-level fields.
std::vector<size_t> TopLevelFieldEnds(const std::string& bytes) {
  std::vector<size_t> ends = {0};
  size_t pos = 0;
  while (pos < bytes.size()) {
    EXPECT_EQ(ReadVarint(bytes, pos) & 7, 2u) << "top-level fields are all messages";
    pos += ReadVarint(bytes, pos);
    ends.push_back(pos);
  }
  return ends;
}

// Encodes and decodes a few strings: what a loaded but damaged model must survive.
void Exercise(const SentencePieceProcessor& processor) {
  for (const std::string& text : TrickyStrings()) processor.Encode(text);
  std::mt19937 random(7);
  std::vector<int32_t> ids(64);
  for (int32_t& id : ids) id = static_cast<int32_t>(random() % processor.vocab().size());
  processor.Decode(ids);
}

TEST(SentencePieceModelTest, TruncatedModelsAreErrors) {
  const std::string bytes = ReadFile(testing::BuildTestTokenizerDir() / "tokenizer.model");
  const std::vector<size_t> field_ends = TopLevelFieldEnds(bytes);
  int num_loaded = 0;
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto processor = Load(std::string_view(bytes).substr(0, size));
    if (processor.ok()) {
      ++num_loaded;
      EXPECT_TRUE(std::binary_search(field_ends.begin(), field_ends.end(), size))
          << "a model cut at byte " << size << ", inside a field, loaded";
      Exercise(**processor);
    } else {
      EXPECT_EQ(processor.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_LT(num_loaded, 10) << "of " << bytes.size() << " cuts";
}

TEST(SentencePieceModelTest, DamagedModelsFailOrStillWork) {
  // nmt_nfkc models are mostly charsmap, so most flips land in its double array.
  for (const OracleModel& oracle : {kOracleModels[1], kOracleModels[5]}) {
    const std::string original = ReadFile(ModelDir(oracle) / "tokenizer.model");
    std::mt19937 random(1234);
    int num_loaded = 0;
    for (int trial = 0; trial < 1500; ++trial) {
      std::string bytes = original;
      const int num_flips = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < num_flips; ++i) {
        bytes[random() % bytes.size()] ^= static_cast<char>(1 << (random() % 8));
      }
      auto processor = Load(bytes);
      if (!processor.ok()) {
        EXPECT_EQ(processor.status().code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++num_loaded;
      Exercise(**processor);
    }
    // Most flips hit rule targets or scores and still load; they must not crash.
    EXPECT_GT(num_loaded, 0);
  }
}

TEST(SentencePieceModelTest, TokenizerNamesTheFileOfABadModel) {
  const std::filesystem::path dir = MakeTempDir("spm_word_model");
  WriteFile(dir / "tokenizer.model", TinyModel(VarintField(3, 3)));
  auto tokenizer = Tokenizer::Load(dir, 1, 2);
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tokenizer.status().message(), HasSubstr("tokenizer.model"));
  EXPECT_THAT(tokenizer.status().message(), HasSubstr("model_type=WORD"));
}

// A prompt of about a million tokens: BPE and Unigram must stay near-linear.
TEST(SentencePieceTest, EncodesAMillionTokenText) {
  std::string text;
  const std::string corpus = ReadFile(kCorpus);
  while (text.size() < 4'000'000) text += corpus;
  for (const OracleModel& oracle : {kOracleModels[0], kOracleModels[3]}) {
    const Tokenizer& tokenizer = LoadTokenizer(oracle);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tokenizer.EncodeWithoutBos(text);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << oracle.name << ": " << ids.size() << " tokens from " << text.size() << " bytes in "
              << seconds << " s\n";
    EXPECT_GT(ids.size(), 900'000u);
    EXPECT_LT(seconds, 30) << "quadratic?";
    if (oracle.flags.empty()) {
      EXPECT_EQ(tokenizer.Decode(ids), text) << "identity rules round-trip";
    }
  }
}

}  // namespace
}  // namespace glaserve
