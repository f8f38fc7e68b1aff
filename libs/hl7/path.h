// Paths naming one value in a message: "PID-5-1", "PID-3(2)-1", "OBX[3]-5", "PID-5-1-2".
//
//   SEG[occurrence]-field(repetition)-component-subcomponent
//
// Every index counts from 1; an omitted one is 1, so a path always names a leaf
// ("PID-5" is PID-5(1)-1-1, HL7's rule that a field's value is its first component).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::hl7 {

struct Path {
    std::string segment;           // three characters, e.g. "PID"
    std::size_t occurrence = 1;    // which PID, OBX, ... in message order
    std::size_t field = 1;
    std::size_t repetition = 1;
    std::size_t component = 1;
    std::size_t subcomponent = 1;
};

// Indexes above this are refused: a path must not make set() allocate without bound.
inline constexpr std::size_t kMaxPathIndex = 9999;

// Errors: hl7.path, naming the character where the path stopped making sense.
Result<Path> parse_path(std::string_view text);

}  // namespace hisgate::hl7
