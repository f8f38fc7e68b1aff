// How one hospital's HL7 v2 interface is shaped, as its parameters say: version,
// delimiters, segment terminator, character set, application/facility names, where each
// piece of information sits (field positions), and what its error codes mean.
// Both sides use it: the adapter to speak to a HIS, and his-sim to play one.
#pragma once

#include <map>
#include <set>
#include <string>

#include "common/error.h"
#include "config-params/param_set.h"
#include "hl7/message.h"

namespace hisgate::hl7v2 {

struct Hl7Dialect {
    std::string version = "2.4";
    hl7::Delimiters delimiters;
    std::string terminator = "\r";        // "\r", "\n" or "\r\n"
    // his.charset: what we send is written in it (MSH-18 names it), and an answer whose
    // MSH-18 is empty is read in it.
    hl7::Charset charset = hl7::Charset::Utf8;
    // The zone of times the HIS writes without an offset (his.timezone, else hospital.timezone).
    std::string timezone = "UTC";
    std::string sending_application = "HISGATE", sending_facility;
    std::string receiving_application = "HIS", receiving_facility;
    // Report queries as QBP^Q11 with QPD (conformance query by parameter) instead of QRY^R02.
    bool qbp_queries = false;
    // his.hl7.ack_mode enhanced: requests ask for accept and application acknowledgements
    // (MSH-15/16 AL); the HIS sends an accept ACK (MSA-1 CA) and then its application answer.
    bool enhanced_ack = false;
    // Logical field -> HL7 path; positions not named here are the standard ones (kStandardFields).
    // A path into a Z-segment names one of kHisgateZSegments or of z_segments.
    std::map<std::string, std::string> fields;
    // his.hl7.z_segments: the vendor's own Z-segments, where `fields` may put what the
    // standard segments do not carry for this HIS (e.g. patient sex in ZPD-2).
    std::set<std::string> z_segments;
    // Vendor error code (ERR-3-1) -> hisgate error class name.
    std::map<std::string, std::string> error_map;

    // The path where this dialect keeps a logical field, e.g. field("patient.id") -> "PID-3-1".
    std::string field(const std::string& logical) const;

    // A new message of `type` (e.g. "SRM^S01^SRM_S01") with the header filled in, in this
    // dialect's charset. The header's parameters were checked when they were read; an error
    // here is a type or control id the charset cannot carry.
    Result<hl7::Message> message(const std::string& type, const std::string& control_id, bool reply = false) const;
    // How to read what this HIS sends: a message with an empty MSH-18 is in `charset`.
    hl7::ParseOptions parse_options() const;
    // The bytes on the wire: the message's charset, this dialect's segment terminator.
    std::string wire(const hl7::Message& m) const;
    // The error an application answer carries (MSA-1 other than AA/CA), mapped through error_map.
    Error answer_error(const hl7::Message& answer, const std::string& what) const;
};

// Reads a dialect from a hospital's parameters (his.charset, his.hl7.*, his.error_map).
// The catalog has checked types and ranges; this checks what only HL7 knows (logical
// field names, path syntax, header text his.charset can carry). Errors name the parameter.
Result<Hl7Dialect> dialect_from_params(const params::ParamSet& p);

// The standard positions of every logical field the adapter and his-sim use.
extern const std::map<std::string, std::string> kStandardFields;
// The Z-segments hisgate's own messages use (reference data, payments): every HL7 dialect has them.
extern const std::set<std::string> kHisgateZSegments;

std::string hl7_timestamp_now();

}  // namespace hisgate::hl7v2
