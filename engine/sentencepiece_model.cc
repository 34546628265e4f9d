#include "engine/sentencepiece_model.h"

#include <bit>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace glaserve {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One field of a message with its value already read, so skipping an unknown field is
// simply not looking at it.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t scalar = 0;     // varint, fixed32 or fixed64
  std::string_view bytes;  // length-delimited, inside the file
  size_t offset = 0;       // of the tag, from the start of the file
};

// Reads the fields of one message. Every read is bounds-checked against the message.
class WireReader {
 public:
  // `offset`: where `message` starts in the file, for error messages.
  WireReader(std::string_view message, size_t offset) : message_(message), offset_(offset) {}

  bool AtEnd() const { return pos_ == message_.size(); }

  absl::Status Next(Field* field) {
    field->offset = offset_ + pos_;
    uint64_t tag = 0;
    if (absl::Status status = ReadVarint(&tag); !status.ok()) return status;
    field->number = static_cast<uint32_t>(tag >> 3);
    field->wire_type = static_cast<uint32_t>(tag & 7);
    // Field numbers are 29 bits and start at 1.
    if (field->number == 0 || tag >> 32 != 0) return Error(field->offset, "invalid field tag");
    switch (field->wire_type) {
      case kVarint:
        return ReadVarint(&field->scalar);
      case kFixed64:
        return ReadFixed(8, field);
      case kFixed32:
        return ReadFixed(4, field);
      case kLengthDelimited: {
        uint64_t size = 0;
        if (absl::Status status = ReadVarint(&size); !status.ok()) return status;
        if (size > message_.size() - pos_) {
          return Error(offset_ + pos_, absl::StrCat("field ", field->number, " claims ", size,
                                                    " bytes, past the end of its message"));
        }
        field->bytes = message_.substr(pos_, size);
        pos_ += size;
        return absl::OkStatus();
      }
      default:  // 3 and 4 are proto2 groups, which no SentencePiece model uses
        return Error(field->offset, absl::StrCat("unsupported wire type ", field->wire_type,
                                                 " of field ", field->number));
    }
  }

  // Where `field`'s bytes start in the file.
  size_t BytesOffset(const Field& field) const {
    return offset_ + static_cast<size_t>(field.bytes.data() - message_.data());
  }

  static absl::Status Error(size_t offset, std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed protobuf at byte ", offset, ": ", std::string(what)));
  }

 private:
  absl::Status ReadVarint(uint64_t* value) {
    const size_t start = pos_;
    *value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ == message_.size()) return Error(offset_ + start, "truncated varint");
      const uint8_t byte = static_cast<uint8_t>(message_[pos_++]);
      if (shift < 64) *value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return absl::OkStatus();
    }
    return Error(offset_ + start, "varint longer than 10 bytes");
  }

  absl::Status ReadFixed(size_t size, Field* field) {
    if (message_.size() - pos_ < size) return Error(offset_ + pos_, "truncated fixed-size value");
    field->scalar = 0;
    for (size_t i = 0; i < size; ++i) {  // little-endian whatever the host
      field->scalar |= static_cast<uint64_t>(static_cast<uint8_t>(message_[pos_ + i])) << (8 * i);
    }
    pos_ += size;
    return absl::OkStatus();
  }

  std::string_view message_;
  size_t offset_;
  size_t pos_ = 0;
};

absl::Status ExpectWireType(const Field& field, uint32_t wire_type, std::string_view name) {
  if (field.wire_type == wire_type) return absl::OkStatus();
  return WireReader::Error(
      field.offset, absl::StrCat(std::string(name), " (field ", field.number, ") has wire type ",
                                 field.wire_type, ", expected ", wire_type));
}

absl::Status ReadBool(const Field& field, std::string_view name, bool* value) {
  absl::Status status = ExpectWireType(field, kVarint, name);
  if (status.ok()) *value = field.scalar != 0;
  return status;
}

// int32 and enum fields keep the low 32 bits, as protobuf does (negatives take 10 bytes).
absl::Status ReadInt32(const Field& field, std::string_view name, int32_t* value) {
  absl::Status status = ExpectWireType(field, kVarint, name);
  if (status.ok()) *value = static_cast<int32_t>(static_cast<uint32_t>(field.scalar));
  return status;
}

absl::Status ReadFloat(const Field& field, std::string_view name, float* value) {
  absl::Status status = ExpectWireType(field, kFixed32, name);
  if (status.ok()) *value = std::bit_cast<float>(static_cast<uint32_t>(field.scalar));
  return status;
}

absl::Status ReadString(const Field& field, std::string_view name, std::string* value) {
  absl::Status status = ExpectWireType(field, kLengthDelimited, name);
  if (status.ok()) value->assign(field.bytes.data(), field.bytes.size());
  return status;
}

absl::Status ParsePiece(std::string_view message, size_t offset, SentencePieceModel::Piece* piece) {
  WireReader reader(message, offset);
  while (!reader.AtEnd()) {
    Field field;
    absl::Status status = reader.Next(&field);
    if (!status.ok()) return status;
    switch (field.number) {
      case 1:
        status = ReadString(field, "SentencePiece.piece", &piece->text);
        break;
      case 2:
        status = ReadFloat(field, "SentencePiece.score", &piece->score);
        break;
      case 3: {
        int32_t type = 0;
        status = ReadInt32(field, "SentencePiece.type", &type);
        if (status.ok() && (type < 1 || type > 6)) {
          status =
              WireReader::Error(field.offset, absl::StrCat("unknown SentencePiece.type ", type));
        }
        piece->type = static_cast<PieceType>(type);
        break;
      }
      default:
        break;
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ParseTrainerSpec(std::string_view message, size_t offset, SentencePieceModel* model) {
  WireReader reader(message, offset);
  while (!reader.AtEnd()) {
    Field field;
    absl::Status status = reader.Next(&field);
    if (!status.ok()) return status;
    switch (field.number) {
      case 3: {
        int32_t type = 0;
        status = ReadInt32(field, "TrainerSpec.model_type", &type);
        if (status.ok() && (type < 1 || type > 4)) {
          status = WireReader::Error(field.offset,
                                     absl::StrCat("unknown TrainerSpec.model_type ", type));
        }
        model->model_type = static_cast<SentencePieceModelType>(type);
        break;
      }
      case 24:
        status = ReadBool(field, "TrainerSpec.treat_whitespace_as_suffix",
                          &model->treat_whitespace_as_suffix);
        break;
      case 35:
        status = ReadBool(field, "TrainerSpec.byte_fallback", &model->byte_fallback);
        break;
      case 44:
        status = ReadString(field, "TrainerSpec.unk_surface", &model->unk_surface);
        break;
      default:
        break;
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ParseNormalizerSpec(std::string_view message, size_t offset,
                                 SentencePieceNormalizerSpec* spec) {
  WireReader reader(message, offset);
  while (!reader.AtEnd()) {
    Field field;
    absl::Status status = reader.Next(&field);
    if (!status.ok()) return status;
    switch (field.number) {
      case 1:
        status = ReadString(field, "NormalizerSpec.name", &spec->name);
        break;
      case 2:
        status =
            ReadString(field, "NormalizerSpec.precompiled_charsmap", &spec->precompiled_charsmap);
        break;
      case 3:
        status = ReadBool(field, "NormalizerSpec.add_dummy_prefix", &spec->add_dummy_prefix);
        break;
      case 4:
        status = ReadBool(field, "NormalizerSpec.remove_extra_whitespaces",
                          &spec->remove_extra_whitespaces);
        break;
      case 5:
        status = ReadBool(field, "NormalizerSpec.escape_whitespaces", &spec->escape_whitespaces);
        break;
      default:
        break;
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SentencePieceModel> ParseSentencePieceModel(std::string_view serialized) {
  SentencePieceModel model;
  WireReader reader(serialized, /*offset=*/0);
  // A message field that occurs twice is merged, as protobuf does.
  while (!reader.AtEnd()) {
    Field field;
    absl::Status status = reader.Next(&field);
    if (!status.ok()) return status;
    const size_t offset = reader.BytesOffset(field);
    switch (field.number) {
      case 1:
        status = ExpectWireType(field, kLengthDelimited, "ModelProto.pieces");
        if (status.ok()) {
          model.pieces.emplace_back();
          status = ParsePiece(field.bytes, offset, &model.pieces.back());
        }
        break;
      case 2:
        status = ExpectWireType(field, kLengthDelimited, "ModelProto.trainer_spec");
        if (status.ok()) status = ParseTrainerSpec(field.bytes, offset, &model);
        break;
      case 3:
        status = ExpectWireType(field, kLengthDelimited, "ModelProto.normalizer_spec");
        if (status.ok()) status = ParseNormalizerSpec(field.bytes, offset, &model.normalizer);
        break;
      case 5:
        status = ExpectWireType(field, kLengthDelimited, "ModelProto.denormalizer_spec");
        if (status.ok()) {
          if (!model.denormalizer.has_value()) model.denormalizer.emplace();
          status = ParseNormalizerSpec(field.bytes, offset, &*model.denormalizer);
        }
        break;
      default:  // self_test_data (4) and anything newer
        break;
    }
    if (!status.ok()) return status;
  }
  return model;
}

}  // namespace glaserve
