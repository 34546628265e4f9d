#include "engine/tokenizer.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <system_error>
#include <type_traits>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/check.h"
#include "nlohmann/json.hpp"

// sentencepiece_processor.h declares `namespace absl { using std::string_view; }`, which
// clashes with Debian's abseil (built with its own absl::string_view class). Renaming that
// namespace for this one include keeps both; the library's symbols use std::string_view.
#define absl sentencepiece_absl
#include <sentencepiece_processor.h>
#undef absl

namespace glaserve {
namespace {

// SentencePiece speaks std::vector<int>; we hand those out as std::vector<int32_t>.
static_assert(std::is_same_v<int, int32_t>);

// tokenizer_config.json's add_bos_token; absent file, field or null means true, as in
// LlamaTokenizer.
absl::StatusOr<bool> ReadAddBosToken(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return true;
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json config =
      nlohmann::json::parse(text.str(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " is not valid JSON"));
  }
  if (!config.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " is not a JSON object"));
  }
  auto it = config.find("add_bos_token");
  if (it == config.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": add_bos_token=", it->dump(), " is not a boolean"));
  }
  return it->get<bool>();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Load(
    const std::filesystem::path& checkpoint_dir, int32_t bos_token_id, int32_t eos_token_id) {
  const std::filesystem::path model_path = checkpoint_dir / "tokenizer.model";
  std::error_code error;
  if (!std::filesystem::exists(model_path, error)) {
    return absl::NotFoundError(absl::StrCat("no tokenizer: ", model_path.string(), " not found"));
  }
  // SentencePiece throws when asked to read a directory.
  if (!std::filesystem::is_regular_file(model_path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(model_path.string(), " is not a file"));
  }
  auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  if (const auto status = processor->Load(model_path.string()); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_path.string(), " is not a SentencePiece model: ", status.ToString()));
  }
  absl::StatusOr<bool> add_bos = ReadAddBosToken(checkpoint_dir / "tokenizer_config.json");
  if (!add_bos.ok()) return add_bos.status();
  auto tokenizer =
      absl::WrapUnique(new Tokenizer(std::move(processor), *add_bos, bos_token_id, eos_token_id));
  if (*add_bos && !tokenizer->InVocabulary(bos_token_id)) {
    return absl::InvalidArgumentError(absl::StrCat("bos_token_id ", bos_token_id,
                                                   " is outside the ", tokenizer->vocab_size(),
                                                   " pieces of ", model_path.string()));
  }

  // <unk> has text (" ⁇ ") unless the model blanked it; then any piece with text will do.
  for (int32_t i = -1; i < tokenizer->vocab_size(); ++i) {
    int32_t id = i < 0 ? tokenizer->processor_->unk_id() : i;
    if (tokenizer->IsControl(id) || tokenizer->ByteValue(id).has_value()) continue;
    std::string text = tokenizer->DecodeAfter(-1, std::span<const int32_t>(&id, 1));
    if (text.empty()) continue;
    tokenizer->lead_id_ = id;
    tokenizer->lead_text_ = std::move(text);
    return tokenizer;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(model_path.string(), " has no piece that decodes to text"));
}

Tokenizer::Tokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> processor, bool add_bos,
                     int32_t bos_id, int32_t eos_id)
    : processor_(std::move(processor)),
      vocab_size_(processor_->GetPieceSize()),
      add_bos_(add_bos),
      bos_id_(bos_id),
      eos_id_(eos_id) {}

Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  if (add_bos_) ids.push_back(bos_id_);
  std::vector<int32_t> text_ids = EncodeWithoutBos(text);
  ids.insert(ids.end(), text_ids.begin(), text_ids.end());
  return ids;
}

std::vector<int32_t> Tokenizer::EncodeWithoutBos(std::string_view text) const {
  std::vector<int32_t> ids;
  const auto status = processor_->Encode(text, &ids);
  CHECK(status.ok()) << status.ToString();
  return ids;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids) const { return DecodeAfter(-1, ids); }

std::string Tokenizer::DecodeContinuation(std::span<const int32_t> ids) const {
  std::string text = DecodeAfter(lead_id_, ids);
  // A model with denormalization rules could rewrite text across the lead piece's; then
  // the leading space is all that is lost.
  if (!absl::StartsWith(text, lead_text_)) return Decode(ids);
  return text.substr(lead_text_.size());
}

std::string Tokenizer::DecodeAfter(int32_t lead, std::span<const int32_t> ids) const {
  std::vector<int> pieces;
  pieces.reserve(ids.size() + 1);
  if (lead >= 0) pieces.push_back(lead);
  for (int32_t id : ids) {
    if (InVocabulary(id)) pieces.push_back(id);
  }
  std::string text;
  const auto status = processor_->Decode(pieces, &text);
  CHECK(status.ok()) << status.ToString();
  return text;
}

std::string Tokenizer::IdToPiece(int32_t id) const {
  return InVocabulary(id) ? processor_->IdToPiece(id) : std::string();
}

std::optional<uint8_t> Tokenizer::ByteValue(int32_t id) const {
  if (!InVocabulary(id) || !processor_->IsByte(id)) return std::nullopt;
  const std::string& piece = processor_->IdToPiece(id);  // "<0xE4>"
  unsigned value = 256;
  if (piece.size() == 6) std::from_chars(piece.data() + 3, piece.data() + 5, value, 16);
  CHECK_LT(value, 256u) << "byte piece " << piece;
  return static_cast<uint8_t>(value);
}

bool Tokenizer::IsControl(int32_t id) const {
  return InVocabulary(id) && processor_->IsControl(id);
}

}  // namespace glaserve
