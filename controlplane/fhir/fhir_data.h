// What the FHIR facade (docs/fhir.md) reads: hospitals and doctors, a record or a page at a
// time. A small interface so the mappings and routes do not know where the rows live; the
// control plane's one is the public partition's primary (primary_fhir_data), the same
// tables patient search reads (public_partition/search_query.h).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::fhir {

// A page in the order of the search (by hospital id, then record key), and the opaque
// cursor of the next page ("" on the last). Items are the records' data plus "hospitalId"
// and "suspect" (search_query.h's run_search items).
struct ReferencePage {
    std::vector<nlohmann::json> items;
    std::string next;
};

class FhirData {
public:
    virtual ~FhirData() = default;
    // Errors of a page: BadInput "fhir.bad_search" for a cursor this source did not make for
    // the same filters (the message names what was refused); the store's otherwise.
    virtual Result<std::optional<nlohmann::json>> hospital(const std::string& hospital_id) = 0;
    // region: "" for every region.
    virtual Result<ReferencePage> hospitals(const std::string& region, int count, const std::string& cursor) = 0;
    virtual Result<std::optional<nlohmann::json>> doctor(const std::string& hospital_id, const std::string& doctor_id) = 0;
    // hospital_id: "" for every hospital.
    virtual Result<ReferencePage> doctors(const std::string& hospital_id, int count, const std::string& cursor) = 0;
    // One slot's record plus "hospitalId"; nullopt when there is none.
    virtual Result<std::optional<nlohmann::json>> slot(const std::string& hospital_id, const std::string& slot_id) = 0;
    // One doctor's slots from `from` (YYYY-MM-DD) to `to` (both included; "": from + 6
    // days), by date and start; free_only: those with room left. Errors: BadInput
    // "fhir.bad_search" for a date that is not one, a window over 31 days, a bad cursor.
    virtual Result<ReferencePage> slots(const std::string& hospital_id, const std::string& doctor_id, const std::string& from,
                                        const std::string& to, bool free_only, int count, const std::string& cursor) = 0;
};

std::unique_ptr<FhirData> primary_fhir_data(public_partition::PublicPrimary& primary);

// The signed-in patient's own data (docs/fhir.md, "The patient's own data"): bookings from
// the ledgers, lab reports from the hospitals through their agents. The routes check whose
// each thing is; this interface only fetches.
class PatientData {
public:
    virtual ~PatientData() = default;
    // The patient's bookings among their newest `scan` transactions, newest first: each
    // money::transaction_json, plus "cancel" (the cancel correction's transaction_json)
    // when one of those names it. Empty when this control plane keeps no ledgers.
    virtual Result<std::vector<nlohmann::json>> bookings(const std::string& patient_id, int scan) = 0;
    // One booking by transaction id, with "cancel" as above; nullopt when there is none
    // (or the transaction is not a booking).
    virtual Result<std::optional<nlohmann::json>> booking(const std::string& transaction_id) = 0;
    // Asks the hospital through its agent on the patient's behalf ("report.get",
    // "report.list"): the answer, nullopt while it is still on its way (the API's wait
    // passed, or the agent is offline: the task stays pending), or the error the hospital
    // or the router answered (NotFound for a report the hospital has not).
    // `task_id`: set to the request's task.
    virtual Result<std::optional<nlohmann::json>> ask(const std::string& hospital_id, const std::string& type,
                                                      const nlohmann::json& body, const std::string& patient_id,
                                                      std::string* task_id = nullptr) = 0;
    // An answer was handed to the patient it is for: a report's contents then go after the
    // tasks' retention (controlplane/task_results.h, mark_delivered), as on /api/v1.
    virtual void delivered(const std::string& task_id) = 0;
};

}  // namespace hisgate::controlplane::fhir

namespace hisgate::controlplane {
class PatientRecords;
class Router;
class TaskResults;
namespace money {
class LedgerService;
}
}  // namespace hisgate::controlplane

namespace hisgate::controlplane::fhir {

// `ledgers`: null when the control plane keeps none (no bookings then). `records` (may be
// null): where each booking's slot was kept as it was sent; a booking it has one for gets it
// as "bookedSlot" (a slot record plus "hospitalId", as FhirData::slot gives).
std::unique_ptr<PatientData> ledger_router_patient_data(Router& router, TaskResults& results, money::LedgerService* ledgers,
                                                        PatientRecords* records = nullptr);

}  // namespace hisgate::controlplane::fhir
