// hisgate's reference records as FHIR R4 resources (docs/fhir.md has the mapping table):
// pure functions of their input, checked against golden files
// (tests/unit/controlplane/fhir/*.json).
//
//   Organization  <- a hospital record (public partition): id = hospitalId
//   Practitioner  <- a doctor record: id = "<hospitalId>.<doctorId>" (a doctor's id is its
//                    hospital's own, so the hospital makes it unique)
//   Schedule      <- a doctor: id = the Practitioner's, one Schedule per doctor
//   Slot          <- a slot record: id = "<hospitalId>.<slotId>", free while booked < capacity
//   OperationOutcome, CapabilityStatement: what the facade says about errors and itself.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

namespace hisgate::controlplane::fhir {

inline constexpr const char* kFhirJson = "application/fhir+json";
inline constexpr const char* kHospitalSystem = "urn:hisgate:hospital";
// A doctor's identifier system is its hospital's: "urn:hisgate:hospital:<id>:doctor".

// `item`: a hospital's data plus "hospitalId" and "suspect" (fhir_data.h).
nlohmann::json organization(const nlohmann::json& item);
nlohmann::json practitioner(const nlohmann::json& item);

nlohmann::json schedule(const nlohmann::json& doctor_item);
// `item`: a slot's data plus "hospitalId". Times are the hospital's local time, taken as
// China Standard Time (+08:00).
nlohmann::json slot(const nlohmann::json& item);

std::string practitioner_id(const std::string& hospital_id, const std::string& doctor_id);
// "H001.D7" -> {"H001", "D7"}; nullopt without a '.' or with an empty side.
std::optional<std::pair<std::string, std::string>> split_practitioner_id(const std::string& id);

// One issue of severity error. `code`: the FHIR issue type (invalid, not-found, forbidden,
// not-supported, exception, transient, ...).
nlohmann::json operation_outcome(const std::string& code, const std::string& diagnostics);

// What the facade serves: resources, interactions and search parameters.
const nlohmann::json& capability_statement();

}  // namespace hisgate::controlplane::fhir
