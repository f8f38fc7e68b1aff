// What a probe can ask the HIS, and the canonical form of each answer.
//
// Only read-only operations: a probe must never change the hospital. The canonical form
// keeps the business content (which fields exist and their values) and leaves out what
// changes on its own: empty fields are dropped (a field the HIS did not send is absent,
// so a field that moves away shows as disappeared), lists become objects keyed by their
// natural id (a new entry is one appeared field, not a shifted list), and for schedules
// the dates and booked counts, which move with each day and each booking, are left out.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/his_adapter.h"
#include "common/error.h"

namespace hisgate::agent::probes {

enum class Operation {
    GetReport,       // case: a report id; the report with its observations
    ListReports,     // case: a patient id; the patient's report list
    DoctorSchedule,  // case: a doctor id; the doctor and the slot shapes of the coming week
    PaymentStatus,   // case: a test order id; what the HIS holds for that payment
};

std::string_view to_string(Operation op);
std::optional<Operation> operation_from_string(std::string_view name);
// Every operation's name, for messages and docs.
const std::vector<std::string>& operation_names();
// What a case of this operation is, in words: "a report id".
std::string_view case_meaning(Operation op);

// How many days of schedule a doctor_schedule probe reads, today included (UTC dates).
inline constexpr int kScheduleDays = 7;

// Asks the HIS about `case_id` and returns the canonical form of its answer. A case the
// HIS no longer holds is an error of class NotFound (whatever the adapter's code), which
// the runner reads as "archived"; every other error is passed on as it came.
Result<nlohmann::json> ask(HisAdapter& his, Operation op, const std::string& case_id,
                           std::chrono::system_clock::time_point now);

// The canonical forms, exposed for tests.
nlohmann::json canonical_report(const Report& r);
nlohmann::json canonical_report_list(const std::vector<ReportSummary>& list);
// Empty when the doctor is not in the reference data.
std::optional<nlohmann::json> canonical_schedule(const ReferenceData& data, const std::string& doctor_id);
nlohmann::json canonical_payment(const Payment& p);

}  // namespace hisgate::agent::probes
