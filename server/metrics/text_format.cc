#include "server/metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "engine/check.h"

namespace glaserve::metrics {
namespace {

constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none
// (bad lead byte, truncated, overlong, surrogate or above U+10FFFF).
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  uint32_t code_point;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinForLength[length]) return 0;                 // overlong
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;       // surrogate
  if (code_point > 0x10FFFF) return 0;
  return length;
}

std::string Escape(absl::string_view text, bool escape_quote) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      out += kReplacementCharacter;
      text.remove_prefix(1);
      continue;
    }
    if (length == 1) {
      const char c = text[0];
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '"' && escape_quote) {
        out += "\\\"";
      } else {
        out += c;
      }
    } else {
      out.append(text.data(), length);
    }
    text.remove_prefix(length);
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  return Escape(value, /*escape_quote=*/true);
}

std::string EscapeHelp(absl::string_view help) { return Escape(help, /*escape_quote=*/false); }

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Exactly representable integers print as such; 2^53 is where doubles stop being dense.
  constexpr double kMaxExactInteger = 9007199254740992.0;
  if (value == std::trunc(value) && std::fabs(value) < kMaxExactInteger) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buffer[32];  // the shortest round-trip form of a double needs at most 24
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  CHECK(result.ec == std::errc()) << "to_chars failed for " << value;
  return std::string(buffer, result.ptr);
}

std::string FormatLabels(absl::Span<const std::string> names,
                         absl::Span<const std::string> values) {
  CHECK_EQ(names.size(), values.size());
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  return out;
}

void AppendFamilyHeader(std::string& out, absl::string_view name, absl::string_view help,
                        absl::string_view type) {
  absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(help), "\n", "# TYPE ", name, " ", type,
                  "\n");
}

void AppendSample(std::string& out, absl::string_view name, absl::string_view labels,
                  absl::string_view value) {
  if (labels.empty()) {
    absl::StrAppend(&out, name, " ", value, "\n");
  } else {
    absl::StrAppend(&out, name, "{", labels, "} ", value, "\n");
  }
}

}  // namespace glaserve::metrics
