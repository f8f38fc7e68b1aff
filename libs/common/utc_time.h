// Instants as the platform writes them everywhere (envelopes, events, probe results, log
// lines): ISO 8601 in UTC, "2026-11-21T12:00:00.000Z"; log lines keep microseconds (6
// digits) so per-hop timings in `hisgate trace` stay meaningful.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hisgate {

// `fraction_digits`: 3 (milliseconds) or 6 (microseconds).
std::string iso_utc(std::chrono::system_clock::time_point t, int fraction_digits = 3);
inline std::string iso_utc_now() { return iso_utc(std::chrono::system_clock::now()); }
// An instant stored as milliseconds since the epoch (the stores' *_ms columns).
inline std::string iso_utc_ms(int64_t epoch_ms) {
    return iso_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(epoch_ms)));
}

// `t` in UTC, in a strftime format ("%Y-%m-%d", HL7's "%Y%m%d%H%M%S", ...); whole seconds.
std::string utc_strftime(std::chrono::system_clock::time_point t, const char* format);

}  // namespace hisgate
