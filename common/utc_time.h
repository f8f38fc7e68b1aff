// Instants as the platform writes them everywhere (envelopes, events, probe results):
// ISO 8601 in UTC with milliseconds, "2026-11-21T12:00:00.000Z".
#pragma once

#include <chrono>
#include <string>

namespace hisgate {

std::string iso_utc(std::chrono::system_clock::time_point t);
inline std::string iso_utc_now() { return iso_utc(std::chrono::system_clock::now()); }

}  // namespace hisgate
