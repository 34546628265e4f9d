#include "engine/tokenizer.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/sentencepiece_model.h"
#include "engine/sentencepiece_processor.h"
#include "nlohmann/json.hpp"

namespace glaserve {
namespace {

// Real tokenizer.model files are a few MB; far larger ones are not models, and the
// tokenizer's indexes assume the pieces fit in int32 offsets.
constexpr uintmax_t kMaxModelBytes = uintmax_t{1} << 30;

absl::StatusOr<std::unique_ptr<SentencePieceProcessor>> ReadModel(
    const std::filesystem::path& path) {
  std::error_code error;
  const uintmax_t size = std::filesystem::file_size(path, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path.string(), ": ", error.message()));
  }
  if (size > kMaxModelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), " is not a SentencePiece model: ", size, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)) ||
      in.gcount() != static_cast<std::streamsize>(size)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path.string()));
  }
  absl::StatusOr<SentencePieceModel> model = ParseSentencePieceModel(bytes);
  if (!model.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), " is not a SentencePiece model: ", model.status().message()));
  }
  absl::StatusOr<std::unique_ptr<SentencePieceProcessor>> processor =
      SentencePieceProcessor::Create(*std::move(model));
  if (!processor.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": ", processor.status().message()));
  }
  return processor;
}

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
  if (!std::filesystem::is_regular_file(model_path, error)) {
    return absl::InvalidArgumentError(absl::StrCat(model_path.string(), " is not a file"));
  }
  absl::StatusOr<std::unique_ptr<SentencePieceProcessor>> processor = ReadModel(model_path);
  if (!processor.ok()) return processor.status();
  absl::StatusOr<bool> add_bos = ReadAddBosToken(checkpoint_dir / "tokenizer_config.json");
  if (!add_bos.ok()) return add_bos.status();
  auto tokenizer =
      absl::WrapUnique(new Tokenizer(*std::move(processor), *add_bos, bos_token_id, eos_token_id));
  if (*add_bos && !tokenizer->InVocabulary(bos_token_id)) {
    return absl::InvalidArgumentError(absl::StrCat("bos_token_id ", bos_token_id,
                                                   " is outside the ", tokenizer->vocab_size(),
                                                   " pieces of ", model_path.string()));
  }

  // <unk> has text (" ⁇ ") unless the model blanked it; then any piece with text will do.
  for (int32_t i = -1; i < tokenizer->vocab_size(); ++i) {
    int32_t id = i < 0 ? tokenizer->processor_->vocab().unk_id() : i;
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

Tokenizer::Tokenizer(std::unique_ptr<SentencePieceProcessor> processor, bool add_bos,
                     int32_t bos_id, int32_t eos_id)
    : processor_(std::move(processor)),
      vocab_size_(processor_->vocab().size()),
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
  return processor_->Encode(text);
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
  std::vector<int32_t> pieces;
  pieces.reserve(ids.size() + 1);
  if (lead >= 0) pieces.push_back(lead);
  for (int32_t id : ids) {
    if (InVocabulary(id)) pieces.push_back(id);
  }
  return processor_->Decode(pieces);
}

std::string Tokenizer::IdToPiece(int32_t id) const {
  return InVocabulary(id) ? processor_->vocab().piece(id) : std::string();
}

std::optional<uint8_t> Tokenizer::ByteValue(int32_t id) const {
  return InVocabulary(id) ? processor_->vocab().ByteValue(id) : std::nullopt;
}

bool Tokenizer::IsControl(int32_t id) const {
  return InVocabulary(id) && processor_->vocab().Is(id, PieceType::kControl);
}

}  // namespace glaserve
