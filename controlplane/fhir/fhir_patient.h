// The signed-in patient's own data as FHIR R4 resources (docs/fhir.md, "The patient's own
// data"): pure functions of their input, checked against golden files
// (tests/unit/controlplane/fhir/*.json) and validated against the R4 definitions by the
// system test (tests/system/public_partition/fhir_patient_test.cpp).
//
//   Appointment       <- a booking transaction of the ledger (money::transaction_json, plus
//                        "cancel": its cancel correction's, when one names it), and the
//                        booked slot's record when the public partition knows it, else
//                        the slot as it was when the booking was sent ("bookedSlot"):
//                        id = the transaction id
//   DiagnosticReport  <- a lab report from the hospital (report.get), or a line of the
//                        hospital's list (report.list): id = "<hospitalId>.<reportId>"
//   Observation       <- one result line of a report: id = "<hospitalId>.<reportId>.<n>",
//                        n from 1 in the report's order
//
// The patient is named by identifier (system urn:hisgate:patient), not by a reference:
// the facade serves no Patient resource.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hisgate::controlplane::fhir {

inline constexpr const char* kPatientSystem = "urn:hisgate:patient";
inline constexpr const char* kLedgerStateExtension = "urn:hisgate:fhir:ledger-state";
inline constexpr const char* kLoincSystem = "http://loinc.org";

// `booking`: transaction_json of a booking, with "cancel" (a transaction_json or absent).
// `slot_item`: the slot's record plus "hospitalId" (fhir_data.h), or nullopt; then the
// booking's "bookedSlot" (the slot as the booking was sent, same shape) gives the times.
nlohmann::json appointment(const nlohmann::json& booking, const std::optional<nlohmann::json>& slot_item);
// The Appointment.status of a booking as appointment() maps it.
std::string appointment_status(const nlohmann::json& booking);

// `report`: the hospital's report (report.get: reportId, patientId, title, status,
// issuedAt, observations[]) or a list line (reportId, title, status, issuedAt), whose
// patient is `patient_id`.
nlohmann::json diagnostic_report(const std::string& hospital_id, const std::string& patient_id, const nlohmann::json& report);
// A report the hospital lists for the patient whose content is still on its way
// (report.get not answered yet): status registered, with a narrative saying so.
nlohmann::json diagnostic_report_on_its_way(const std::string& hospital_id, const std::string& patient_id,
                                            const nlohmann::json& list_line);
// Result line `n` (1-based) of a report: code.coding the HIS's code, then LOINC's when the
// line carries "loinc": {code, display} (the hospital's his.code_tables.lab_loinc).
nlohmann::json observation(const std::string& hospital_id, const std::string& patient_id, const nlohmann::json& report,
                           size_t n);

// The hospital's report status (HL7 v2 OBR-25 letters or words) as DiagnosticReport.status.
std::string report_status(const std::string& his_status);
// The hospital's time as a FHIR instant ("2026-11-20T08:30:00+08:00"; local times taken as
// China Standard Time, as Slot does), or "" when it is not a time.
std::string fhir_instant(const std::string& his_time);

}  // namespace hisgate::controlplane::fhir
