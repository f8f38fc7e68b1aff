// MSH-18 character sets (HL7 table 0211) and their transcoding to and from UTF-8.
//
// Every decoded value leaves this library as UTF-8. An MSH-18 value that names no
// supported charset is an error, never a guess; an empty MSH-18 means the hospital's
// configured default (ParseOptions::default_charset).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::hl7 {

enum class Charset {
    Ascii,
    Utf8,
    Iso8859_1, Iso8859_2, Iso8859_3, Iso8859_4, Iso8859_5, Iso8859_6, Iso8859_7, Iso8859_8, Iso8859_9, Iso8859_15,
    Gb18030,  // also read for GBK and GB 2312, its subsets
};

// Resolves an MSH-18 value ("8859/1", "UNICODE UTF-8", "GB 18030-2000", ...).
// Errors: hl7.charset_unsupported (a table 0211 value this library does not read, e.g.
// "UNICODE UTF-16"), hl7.charset_unknown (anything else).
Result<Charset> charset_from_hl7(std::string_view msh18);

// The table 0211 spelling written to MSH-18 for this charset.
std::string_view hl7_name(Charset c);

// True when the charset's bytes below 0x80 are always ASCII characters, so delimiters can
// be found byte by byte. False for GB 18030, whose trailing bytes include '|', '^', '~', '\'.
bool ascii_safe(Charset c);

// Transcodes `bytes` in charset `from` to UTF-8, appending to `out`. UTF-8 and ASCII are
// validated, not copied, when `out` is null. On failure (hl7.charset_invalid) stores the
// offset of the first byte that is not valid in `from` in `bad_offset`.
Result<void> to_utf8(std::string_view bytes, Charset from, std::string* out, std::size_t* bad_offset = nullptr);

// Transcodes UTF-8 text to `to`. Fails with hl7.charset_unrepresentable when a character
// has no encoding in `to`.
Result<std::string> from_utf8(std::string_view utf8, Charset to);

// Offset of the first byte that is not part of valid UTF-8, or npos.
std::size_t invalid_utf8_at(std::string_view bytes);

}  // namespace hisgate::hl7
