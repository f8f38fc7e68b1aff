// Where a HIS puts each reference-data field in the MFN and SIU messages it pushes:
// standard positions unless extraction.hl7.fields moves them (vendors differ).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace hisgate::hl7v2 {

// Logical field -> standard HL7 path. Doctors travel in MFN^M02 (MFE + STF + PRA),
// departments in MFN^M05 (MFE + LOC), slots in SIU (SCH + AIP + AIL, and the vendor's ZSL
// for the quota, laid out as in its RSP^ZRD answers).
extern const std::map<std::string, std::string> kStandardPushFields;

struct PushFields {
    std::map<std::string, std::string> moved;  // logical -> path, where the HIS differs

    // The path of a logical field (one of kStandardPushFields).
    std::string path(const std::string& logical) const;

    // Reads extraction.hl7.fields. Errors (Config "params.invalid") name the entry: an
    // unknown logical name, a value that is not a string, a path that is not HL7 syntax.
    static Result<PushFields> from_json(const nlohmann::json& fields);
};

}  // namespace hisgate::hl7v2
