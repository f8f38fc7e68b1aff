// JSON from outside the process (HTTP bodies, MQTT requests, answers, retained state,
// events), parsed only within bounds: at most `max_bytes` bytes and at most
// kMaxJsonDepth nested arrays or objects, both checked before the parser runs, so no
// recursive step (copy, dump, destruction) ever meets a deeper document. The depth scan
// is one pass over the bytes that skips strings; it allocates nothing and cannot recurse.
// Limits are listed in docs/architecture.md ("Limits").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate {

inline constexpr int kMaxJsonDepth = 32;

struct JsonBounds {
    std::string what;        // "the booking body", "an MQTT request": names the input in errors
    std::size_t max_bytes;   // refuse a larger text before reading it
    std::string code_prefix; // errors are <prefix>.too_large, <prefix>.too_deep, <prefix>.invalid
};

// The deepest nesting of arrays and objects in `text` (brackets inside strings do not
// count), stopping as soon as it exceeds `stop_above`.
int json_depth(std::string_view text, int stop_above = kMaxJsonDepth);

// Parses `text` if it is within `bounds` and kMaxJsonDepth; otherwise a BadInput error
// saying what, the limit and what was found.
Result<nlohmann::json> parse_bounded_json(std::string_view text, const JsonBounds& bounds);

}  // namespace hisgate
