// UTF-8 as SentencePiece reads it. Text is split into characters by lead byte alone; a
// character is valid when it is the shortest encoding of a code point outside the
// surrogates and at most U+10FFFF. Invalid bytes become U+FFFD one byte at a time, both
// when normalizing input and when decoding byte pieces.
#ifndef GLASERVE_ENGINE_SENTENCEPIECE_UTF8_H_
#define GLASERVE_ENGINE_SENTENCEPIECE_UTF8_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace glaserve {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD
inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";           // U+2581 "▁"

// The length of the character at the start of non-empty `text`, from its lead byte only
// (0xC0-0xDF: 2, 0xE0-0xEF: 3, 0xF0-0xFF: 4, else 1), clipped to the text.
inline size_t CharLength(std::string_view text) {
  const uint8_t lead = static_cast<uint8_t>(text[0]);
  const size_t length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  return std::min(length, text.size());
}

// The length of the valid character at the start of non-empty `text`, or 0 when the bytes
// there are not one.
inline size_t ValidCharLength(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(text[i])); };
  auto trail = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
  auto valid = [](uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); };
  const uint32_t lead = byte(0);
  if (lead < 0x80) return 1;
  if (text.size() >= 2 && (lead & 0xE0) == 0xC0) {
    const uint32_t c = (lead & 0x1F) << 6 | (byte(1) & 0x3F);
    return trail(1) && c >= 0x80 && valid(c) ? 2 : 0;
  }
  if (text.size() >= 3 && (lead & 0xF0) == 0xE0) {
    const uint32_t c = (lead & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
    return trail(1) && trail(2) && c >= 0x800 && valid(c) ? 3 : 0;
  }
  if (text.size() >= 4 && (lead & 0xF8) == 0xF0) {
    const uint32_t c =
        (lead & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 | (byte(3) & 0x3F);
    return trail(1) && trail(2) && trail(3) && c >= 0x10000 && valid(c) ? 4 : 0;
  }
  return 0;
}

}  // namespace glaserve

#endif  // GLASERVE_ENGINE_SENTENCEPIECE_UTF8_H_
