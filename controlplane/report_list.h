// A patient's lab reports at one hospital, as a page (issue 17: "Lab reports: a list"):
//
//   GET /api/v1/hospitals/{hospitalId}/reports[?patientId=P&limit=N&cursor=C]
//
// The list comes from the hospital through its agent (request type "report.list", keyed by
// the patient id, the same deferred path as one report). A patient token lists only its own
// patient's reports: patientId is then optional and, if given, must be the token's (403
// otherwise); staff tokens must name one. The page is ordered newest first (issuedAt, then
// reportId), `limit` 1..100 (default 20); "nextCursor" is present when more follow, and is
// handed back as `cursor` (opaque; a cursor still finds its place if reports were added
// meanwhile). A hospital slower than the API's wait answers 202 with a Task-Id, like a
// report; the task's result is then the whole list (GET /api/v1/tasks/{id}).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error.h"

namespace hisgate::controlplane {

struct ReportsQuery {
    std::string patient_id;  // "" when the query named none
    int limit = 20;
    // Where the page starts: after the report (issuedAt, reportId) a cursor named.
    std::optional<std::pair<std::string, std::string>> after;
};

inline constexpr int kMaxReportsPage = 100;

// The query string, bounded and checked first. Errors: BadInput "reports.bad_query" naming
// the parameter.
Result<ReportsQuery> read_reports_query(const std::string& raw_query);

// The page of the agent's answer ({"reports": [{"reportId", "title", "status",
// "issuedAt"}...]}) for `patient_id`: {"patientId", "reports": [...], "nextCursor"?}.
// Errors: Internal "reports.bad_answer" when the answer is not such a list.
Result<nlohmann::json> reports_page(const nlohmann::json& answer, const std::string& patient_id, const ReportsQuery& q);

}  // namespace hisgate::controlplane
