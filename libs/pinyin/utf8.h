// UTF-8 decoding that never fails and never reads past its input: the text pinyin is made
// for comes from HIS feeds and patients' keyboards, and a stray GBK byte must cost one
// replacement character, not the whole name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hisgate::pinyin {

inline constexpr char32_t kReplacement = U'\uFFFD';

struct Decoded {
    char32_t code_point;  // kReplacement when ill_formed
    std::size_t length;   // bytes consumed: 1..4, never more than the input held
    bool ill_formed;      // true for bytes that are not UTF-8 (a real U+FFFD in the input is not)
};

// Decodes the character at the front of `text`, which must not be empty. An ill-formed
// sequence (a stray continuation byte, a truncated sequence, an overlong form, a surrogate,
// a value past U+10FFFF) decodes to one U+FFFD per maximal subpart, as Unicode 15 §3.9
// recommends: "\xE7\x8E" (a truncated 王) is one U+FFFD, "\xC0\xAF" (an overlong '/') two.
Decoded decode_front(std::string_view text);

// Appends `cp`, which must be a Unicode scalar value, to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

}  // namespace hisgate::pinyin
