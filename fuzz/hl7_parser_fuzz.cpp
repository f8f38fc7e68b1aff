// libFuzzer target for the HL7 parser: whatever the bytes, parsing, walking, serializing,
// editing and acknowledging return values or errors, never crash, hang or grow without
// bound. Properties checked on success (a failure traps, so libFuzzer records it):
//  - a serialized message parses again and serializes to the same bytes;
//  - a value set at a path reads back unchanged.
// Seeds: messages from tools/hl7-gen, plus the external corpus ../shared/hl7-corpus/{good,bad}
// when present; see docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hl7/ack.h"
#include "hl7/batch.h"
#include "hl7/charset.h"
#include "hl7/json.h"

using namespace hisgate::hl7;

namespace {

void require(bool property) {
    if (!property) __builtin_trap();
}

void check_message(const Message& m, std::string_view value) {
    Stats stats;
    stats.add(m);
    std::string json;
    append_json(m, json);

    std::string wire = m.serialize();
    auto again = Message::parse(wire);
    require(again.ok());
    require(again->serialize() == wire);

    Message edited = m;
    if (edited.set("PID-5(2)-3-2", value).ok()) {
        require(edited.get("PID-5(2)-3-2") == value);
        auto reparsed = Message::parse(edited.serialize());
        require(reparsed.ok());
        require(reparsed->get("PID-5(2)-3-2") == value);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // A value to store: the input's first bytes when they are UTF-8.
    std::string_view value = bytes.substr(0, 24);
    if (invalid_utf8_at(value) != std::string_view::npos) value = "x|y^z~w\\v&u#\r\n";

    auto batch = parse_file(bytes);
    if (batch.ok()) {
        for (const Message& m : batch->messages) check_message(m, value);
    }
    auto single = Message::parse(bytes);
    if (single.ok()) check_message(*single, value);
    (void)ack_for(bytes);
    return 0;
}
