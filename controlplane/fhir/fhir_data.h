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

}  // namespace hisgate::controlplane::fhir
