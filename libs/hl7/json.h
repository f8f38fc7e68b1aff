// The structure of messages as JSON lines and counts (what `hisgate hl7 parse --json`
// and `--stats` print; the format is documented in docs/hl7.md).
//
// A message is an array of segments; a segment an array whose element 0 is its name and
// whose other elements are its fields; a field an array of repetitions, a repetition an
// array of components, a component an array of subcomponent strings. Nothing is collapsed:
// an empty field is [[[""]]]. Values are decoded UTF-8; MSH-1 and MSH-2 are literal.
#pragma once

#include <cstddef>
#include <string>

#include "hl7/message.h"

namespace hisgate::hl7 {

// Appends the message as one line of JSON (no trailing newline).
void append_json(const Message& m, std::string& out);

struct Stats {
    std::size_t messages = 0;
    std::size_t segments = 0;
    std::size_t fields = 0;      // fields of every segment, not counting the name
    std::size_t leaves = 0;      // subcomponents
    std::size_t leaf_bytes = 0;  // their decoded UTF-8 bytes

    void add(const Message& m);
    // "messages=N segments=N fields=N leaves=N leaf_bytes=N"
    std::string line() const;
};

}  // namespace hisgate::hl7
