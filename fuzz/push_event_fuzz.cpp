// libFuzzer target for the reference-data events a HIS pushes (MFN^M02, MFN^M05,
// SIU^S12-S17) as the HL7 push listener reads them into the updates a change set is made
// of (adapters/hl7v2/push_message.h; see docs/fuzzing.md).
//
// Input: byte 0 picks the field map (standard positions, or a vendor's moved ones), the
// rest is the message. What the listener does with it is repeated: parse, read_push, and
// the acknowledgement. Checked on every input:
//  - a message is refused whole (no updates) or read whole (no refusal), with its kind;
//  - the acknowledgement, AA or the refusal's code, parses as HL7, and with the standard
//    delimiters names the message by its control id.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/hl7v2/push_message.h"
#include "fuzz_check.h"

using namespace hisgate;

namespace {

const hl7v2::PushFields& fields(uint8_t pick) {
    static const hl7v2::PushFields standard;
    static const hl7v2::PushFields moved = [] {
        auto f = hl7v2::PushFields::from_json({{"slot.id", "SCH-1-1"}, {"doctor.given_name", "STF-3-3"}, {"slot.fee", "ZSL-11"}});
        FUZZ_CHECK(f.ok());
        return f.value();
    }();
    return pick % 2 ? moved : standard;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
    auto message = hl7::Message::parse(raw);
    if (!message) {
        (void)hl7::ack_for(raw);
        return 0;
    }
    auto reading = hl7v2::read_push(message.value(), fields(data[0]));
    std::string ack;
    if (reading.refusal) {
        FUZZ_CHECK(reading.updates.empty());
        ack = hl7::make_ack(message.value(), reading.refusal->code, reading.refusal->error);
    } else {
        FUZZ_CHECK(!reading.kind.empty());
        ack = hl7::make_ack(message.value(), hl7::AckCode::AA);
    }
    auto read_back = hl7::Message::parse(ack);
    FUZZ_CHECK(read_back.ok());
    // With the standard delimiters the ACK names the message; with others (an empty MSH-2,
    // say) its fields need not read back, and a control id holding a raw line break is
    // echoed raw, ending the segment there for a reader (docs/fuzzing.md).
    const std::string control_id = message->get("MSH-10");
    if (raw.size() >= 8 && raw.substr(3, 5) == "|^~\\&" && control_id.find_first_of("\r\n") == std::string::npos)
        FUZZ_CHECK(read_back->get("MSH-9-1") == "ACK" && read_back->get("MSA-2") == control_id);
    return 0;
}
