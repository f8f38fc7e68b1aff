// Realistic HL7 v2 messages, generated from a seed: the project's own test fixtures, so the
// suite needs nothing beside the checkout (the external corpus is an extra conformance
// suite). The same seed gives the same bytes on every machine: only std::mt19937's output,
// which the standard fixes, decides anything.
//
// What varies: message type (ADT^A01/A03/A04/A08, ORU^R01, ORM^O01, SIU^S12, DFT^P03,
// QRY^R02, ACK), HL7 version (2.3 to 2.5.1), charset (none declared, UNICODE UTF-8, 8859/1,
// GB 18030-2000, with names that need it: Chinese names in GB 18030, accented Latin ones
// in 8859/1), repetitions, components, subcomponents, escaped delimiters in free text,
// empty and trailing fields, Z segments, and a few-KB OBX now and then.
//
// Every good message parses and serializes back to the same bytes (segments end with CR).
// `break_message` turns a good message into one the parser must refuse, for tests of how
// errors are reported.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace hisgate::hl7gen {

struct Generated {
    std::string bytes;       // segments ended by CR
    std::string type;        // MSH-9 as written: "ADT^A01"
    std::string control_id;  // MSH-10
    std::string charset;     // MSH-18 ("" when the message declares none)
    bool enhanced_ack = false;  // MSH-15 AL: the receiver answers an accept ACK (CA) first
    std::size_t segments = 0;
};

// The kinds of message `Generator::next` chooses from.
enum class Kind { Admit, Discharge, Register, Update, LabResult, Order, Schedule, Charge, ReportQuery, Ack };
inline constexpr Kind kAllKinds[] = {Kind::Admit,  Kind::Discharge, Kind::Register, Kind::Update,      Kind::LabResult,
                                     Kind::Order,  Kind::Schedule,  Kind::Charge,   Kind::ReportQuery, Kind::Ack};

class Generator {
public:
    explicit Generator(std::uint32_t seed);
    // The next message, of a kind chosen by the seed; control ids count up from MSG000001.
    Generated next();
    Generated next(Kind kind);

private:
    std::uint32_t pick(std::uint32_t n) { return static_cast<std::uint32_t>(rng_() % n); }
    std::mt19937 rng_;
    std::size_t count_ = 0;
};

// `count` messages from `seed`.
std::vector<Generated> generate(std::uint32_t seed, std::size_t count);

// The defects `break_message` can put into a good message, each refused by the parser
// with its own error code.
enum class Defect {
    SegmentName,     // a segment ID in lower case: hl7.segment_name
    CharsetUnknown,  // MSH-18 names no charset: hl7.charset_unknown
    InvalidText,     // a byte (0xFF) that no charset the message may declare allows: hl7.charset_invalid
};
inline constexpr Defect kAllDefects[] = {Defect::SegmentName, Defect::CharsetUnknown, Defect::InvalidText};
// The parser's error code for the defect.
std::string_view error_code(Defect defect);
// A copy of `good` (one generated message) with the defect; its length may differ.
std::string break_message(std::string_view good, Defect defect);

// Messages written back to back, as a file holds them.
std::string file_of(const std::vector<Generated>& messages);

}  // namespace hisgate::hl7gen
