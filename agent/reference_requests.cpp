#include "agent/reference_requests.h"

#include <string>

#include "transport/limits.h"

namespace hisgate::agent {

namespace {

// What an answer's body may hold once the envelope around it (ids, type, times) is added.
constexpr std::size_t kAnswerBodyBytes = limits::kAnswerBytes - 64 * 1024;

// Internal, not Unavailable: an agent always runs its extractor, and asking again would
// not start one.
Error unavailable() {
    return make_error(ErrorClass::Internal, "reference.unavailable",
                      "this agent's reference-data extraction is not running");
}

Result<int64_t> seq_field(const nlohmann::json& body, const char* name) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_number_integer() || it->get<int64_t>() < 1)
        return make_error(ErrorClass::BadInput, "reference.bad_range",
                          std::string("reference.changesets needs body.") + name +
                              ", a whole number of at least 1 (a change-set seq)");
    return it->get<int64_t>();
}

}  // namespace

Result<nlohmann::json> reference_changesets(extraction::ReferenceHistory* history, const nlohmann::json& body) {
    auto from = seq_field(body, "fromSeq");
    if (!from) return from.error();
    auto to = seq_field(body, "toSeq");
    if (!to) return to.error();
    if (*to < *from)
        return make_error(ErrorClass::BadInput, "reference.bad_range",
                          "reference.changesets needs body.toSeq at least body.fromSeq (" + std::to_string(*from) +
                              "), found " + std::to_string(*to));
    if (!history) return unavailable();
    auto range = history->changesets(*from, *to, kChangeSetPageBytes, kAnswerBodyBytes);
    if (!range) return range.error();
    return nlohmann::json{{"hospital", range->hospital},
                          {"lastSeq", range->last_seq},
                          {"changesets", std::move(range->changesets)},
                          {"complete", range->complete}};
}

Result<nlohmann::json> reference_snapshot(extraction::ReferenceHistory* history, const nlohmann::json&) {
    if (!history) return unavailable();
    auto snap = history->snapshot(kAnswerBodyBytes);
    if (!snap) return snap.error();
    return nlohmann::json{{"schema", 1}, {"hospital", snap->hospital}, {"seq", snap->seq}, {"records", std::move(snap->records)}};
}

}  // namespace hisgate::agent
