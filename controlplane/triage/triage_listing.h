// GET /api/v1/triage?owner=X&since=T: the open errors of the book, grouped by owner, each
// group with its count, first and last time seen and a sample trace id.
//
//   owner  a team of the rules file (1 to 64 of a-z 0-9 - _); absent: every owner
//   since  an instant, ISO 8601 UTC ("2026-12-03T18:00:00Z", fractions allowed), or an age
//          ("90s", "15m", "2h", "7d"): groups last seen at or after it; absent: every open group
//   limit  groups at most, 1 to 10000 (default 1000)
// Anything else, or a value out of bounds, is BadInput "triage.bad_query" naming the
// parameter, what was expected and what was found.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/triage/error_book.h"
#include "controlplane/triage/owner_rules.h"

namespace hisgate::controlplane::triage {

// Unix ms of an ISO 8601 UTC instant or of now minus an age; nullopt when `text` is neither.
std::optional<int64_t> parse_since(const std::string& text, int64_t now_ms);

// The query (decoded name/value pairs) checked into a TriageQuery.
Result<TriageQuery> read_triage_query(const std::vector<std::pair<std::string, std::string>>& params,
                                      const OwnerRules& rules, int64_t now_ms);

// The listing's JSON body: {"owners": [{"owner", "groups", "count", "errors": [...]}], ...}.
nlohmann::json triage_listing(const std::vector<ErrorGroup>& groups, const TriageQuery& q);

}  // namespace hisgate::controlplane::triage
