// HL7 escape sequences, decoded to and from the message's own delimiter characters.
//
// Decoded: \F\ \S\ \T\ \R\ \E\ \P\ to the field, component, subcomponent, repetition,
// escape and truncation characters; \Xhh..\ to bytes (read in the message's charset).
// Kept verbatim: formatting escapes (\H\ \N\ \.br\ \.sp\ \.in\ \.ti\ \.ce\ \.sk\ ...),
// charset switches (\C..\ \M..\), local \Z..\ escapes, escapes of a delimiter the
// message does not declare, and broken or lone escape characters.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "hl7/charset.h"
#include "hl7/encoding.h"

namespace hisgate::hl7 {

// True when `leaf` has nothing to decode, so its bytes are its value.
inline bool needs_unescape(std::string_view leaf, const Delimiters& d) {
    return d.escape != kAbsent && leaf.find(d.escape) != std::string_view::npos;
}

// Appends the decoded value of `leaf` (UTF-8 text as stored in the message, one
// subcomponent) to `out`. Hex data is read in `charset` and kept verbatim when it is not
// valid text there, so `out` stays valid UTF-8.
void unescape(std::string_view leaf, const Delimiters& d, Charset charset, std::string& out);

// Encodes a UTF-8 value for one leaf: delimiters become escapes, CR and LF become "\X0D\"
// and "\X0A\" (they would end the segment). Fails with hl7.unescapable when the value holds
// a delimiter but the message declares no escape character.
Result<std::string> escape(std::string_view value, const Delimiters& d);

}  // namespace hisgate::hl7
