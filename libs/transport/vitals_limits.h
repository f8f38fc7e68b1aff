// The bounds of one bedside-vitals message upstream (docs/vitals.md, "Forwarding"), in one
// place for both ends: the agent's forwarder never builds a bigger one, the control plane
// refuses a bigger one. Well under the broker's cap (limits::kBrokerMessageBytes, 4 MiB
// and 64 KiB), so the broker never drops one the control plane would take.
#pragma once

#include <cstddef>

namespace hisgate::limits {

inline constexpr std::size_t kVitalsMessageBytes = 1024 * 1024;  // a whole vitals.* payload
inline constexpr std::size_t kVitalsBatchRecords = 5000;         // records in one vitals.batch

}  // namespace hisgate::limits
