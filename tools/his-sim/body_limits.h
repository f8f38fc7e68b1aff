// What his-sim reads at most from one HTTP request, before parsing any of it: a HIS's
// interface (REST, SOAP) and the control API are inputs from outside like any other.
#pragma once

#include <cstddef>

namespace hisgate::sim {

inline constexpr std::size_t kMaxHisRequestBytes = 4u << 20;   // a REST or SOAP request to the HIS
inline constexpr std::size_t kMaxControlBodyBytes = 64u << 10;  // a faults, doctor or slot body

}  // namespace hisgate::sim
