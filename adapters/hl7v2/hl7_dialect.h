// How one hospital's HL7 v2 interface is shaped, as its parameters say: version,
// delimiters, segment terminator, character set, application/facility names, where each
// piece of information sits (field positions), and what its error codes mean.
// Both sides use it: the adapter to speak to a HIS, and his-sim to play one.
#pragma once

#include <map>
#include <string>

#include "common/error.h"
#include "config-params/param_set.h"
#include "hl7/message.h"

namespace hisgate::hl7v2 {

struct Hl7Dialect {
    std::string version = "2.4";
    hl7::Delimiters delimiters;
    std::string terminator = "\r";        // "\r", "\n" or "\r\n"
    std::string charset = "UNICODE UTF-8";  // MSH-18
    std::string sending_application = "HISGATE", sending_facility;
    std::string receiving_application = "HIS", receiving_facility;
    // Report queries as QBP^Q11 with QPD (conformance query by parameter) instead of QRY^R02.
    bool qbp_queries = false;
    // Logical field -> HL7 path; positions not named here are the standard ones (kStandardFields).
    std::map<std::string, std::string> fields;
    // Vendor error code (ERR-3-1) -> hisgate error class name.
    std::map<std::string, std::string> error_map;

    // The path where this dialect keeps a logical field, e.g. field("patient.id") -> "PID-3-1".
    std::string field(const std::string& logical) const;

    // A new message of `type` (e.g. "SRM^S01^SRM_S01") with the header filled in.
    hl7::Message message(const std::string& type, const std::string& control_id, bool reply = false) const;
    // The bytes on the wire: the message's charset, this dialect's segment terminator.
    std::string wire(const hl7::Message& m) const;
    // The error an application answer carries (MSA-1 other than AA/CA), mapped through error_map.
    Error answer_error(const hl7::Message& answer, const std::string& what) const;
};

// Reads a dialect from a hospital's parameters (his.charset, his.hl7.*, his.error_map).
// The catalog has checked types and ranges; this checks what only HL7 knows (logical
// field names, path syntax). Errors name the parameter.
Result<Hl7Dialect> dialect_from_params(const params::ParamSet& p);

// The standard positions of every logical field the adapter and his-sim use.
extern const std::map<std::string, std::string> kStandardFields;

std::string hl7_timestamp_now();

}  // namespace hisgate::hl7v2
