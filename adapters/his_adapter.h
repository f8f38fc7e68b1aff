// What the platform needs from a hospital information system, whatever dialect it speaks.
// The agent core sees only this interface; which implementation runs, and how it is
// shaped (endpoints, versions, field positions, code tables), comes from parameters.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate {

struct Observation {
    std::string code;
    std::string name;
    std::string value;
    std::string units;
    std::string reference_range;
    std::string flag;  // normal/abnormal flag as the HIS sent it (N, H, L, ...)
};

struct Report {
    std::string report_id;
    std::string patient_id;
    std::string title;
    std::string status;     // final, preliminary, corrected
    std::string issued_at;  // ISO 8601
    std::vector<Observation> observations;

    nlohmann::json to_json() const;
};

class HisAdapter {
public:
    virtual ~HisAdapter() = default;
    // The dialect name from the parameter file, e.g. "hl7v2-mllp".
    virtual std::string dialect() const = 0;
    // Errors: NotFound (no such report), Unavailable (HIS unreachable), Timeout (no answer:
    // the outcome is unknown), Protocol (an answer we cannot read), Rejected (HIS said no).
    virtual Result<Report> get_report(const std::string& report_id) = 0;
};

}  // namespace hisgate
