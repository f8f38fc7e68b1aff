// Bedside vitals as FHIR R4 Observation resources in the vital-signs shape (issue 18 item
// 5, for the FHIR facade): category `vital-signs`, the sign's LOINC code, the value as a
// UCUM Quantity, the device's time as effectiveDateTime, and the profile it claims
// (http://hl7.org/fhir/StructureDefinition/vitalsigns and the sign's own, e.g. heartrate).
// Blood pressure is one panel (85354-9) whose components are the systolic, diastolic and
// mean pressures taken at the same time, as the bp profile asks.
//
// Deviation, on purpose: the profile wants `subject` to reference a Patient. The gateway
// never reads the monitors' patient fields (no PHI leaves the ward), so the subject is the
// bed, by identifier (system `urn:hisgate:bed:<hospital>`); linking a bed to a patient is
// the facade's work, from the hospital's admissions. A sign the LOINC table does not know
// is given with its name as `code.text` and without the vital-signs profile.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/vitals/vitals_batch.h"

namespace hisgate::controlplane::vitals {

struct LoincSign {
    const char* name;     // ours: "heart_rate"
    const char* code;     // LOINC: "8867-4"
    const char* display;  // LOINC's name
    const char* profile;  // the sign's FHIR profile ("heartrate"); "" for a component
};
// The LOINC code of one of our sign names, if it is a standard vital sign.
std::optional<LoincSign> loinc_of(const std::string& name);

// The samples of one bed (any signs, any order) as Observations, oldest first; pressures
// taken at the same time of the same device become one blood-pressure panel.
std::vector<nlohmann::json> observations_of(const std::string& hospital_id, const std::string& bed,
                                            const std::vector<VitalSample>& samples);
// A FHIR searchset Bundle of `resources`.
nlohmann::json searchset(const std::vector<nlohmann::json>& resources);

}  // namespace hisgate::controlplane::vitals
