// Unpredictable ids: task ids, request ids, MQTT correlation data, trace and span ids.
// Every byte comes from the kernel's CSPRNG (getrandom), never from a seeded generator
// such as mt19937, whose state a few leaked outputs (a traceparent header) would reveal
// and with it every id handed out after. Nothing is ever derived from a trace id.
#pragma once

#include <cstddef>
#include <string>

namespace hisgate {

// `n_bytes` random bytes as 2 * n_bytes lowercase hex digits, never all zeros (W3C trace
// context forbids all-zero ids). Aborts (HISGATE_CHECK) if the kernel cannot supply them.
std::string random_hex(size_t n_bytes);

// A new 128-bit id (32 hex digits): request ids, task ids, correlation data.
inline std::string new_id() { return random_hex(16); }

}  // namespace hisgate
