#include "agent/reference_requests.h"

#include <optional>
#include <string>

#include "agent/extraction/reference_records.h"
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

Error bad_page(const std::string& what) {
    return make_error(ErrorClass::Rejected, "reference.bad_page", "reference.snapshot needs " + what);
}

// A cursor is the last record's place, "<entity>:<key>": an entity name never holds ':',
// so the first one splits it. Callers treat it as opaque and hand back `next` unchanged.
std::string cursor_text(const extraction::SnapshotCursor& c) { return c.entity + ":" + c.key; }

Result<extraction::SnapshotCursor> parse_cursor(const nlohmann::json& after) {
    const std::string expected = "body.after, null or the \"next\" of the page before";
    if (!after.is_string()) return bad_page(expected + ", found " + std::string(after.type_name()));
    const auto& text = after.get_ref<const std::string&>();
    auto colon = text.find(':');
    if (text.size() > kSnapshotCursorMaxBytes || colon == std::string::npos || colon + 1 == text.size())
        return bad_page(expected + ", found a string that is not a cursor");
    extraction::SnapshotCursor c{text.substr(0, colon), text.substr(colon + 1)};
    for (const char* entity : {extraction::kHospital, extraction::kDepartment, extraction::kDoctor, extraction::kSlot})
        if (c.entity == entity) return c;
    return bad_page(expected + ", found a cursor of no entity this agent serves");
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

Result<nlohmann::json> reference_snapshot(extraction::ReferenceHistory* history, const nlohmann::json& body) {
    if (!body.is_object()) return bad_page("a JSON object as its body");
    auto after_field = body.find("after");
    auto size_field = body.find("max_bytes");
    const bool paged = after_field != body.end() || size_field != body.end();
    std::optional<extraction::SnapshotCursor> after;
    if (after_field != body.end() && !after_field->is_null()) {
        auto c = parse_cursor(*after_field);
        if (!c) return c.error();
        after = std::move(c.value());
    }
    size_t max_bytes = kSnapshotPageDefaultBytes;
    if (size_field != body.end()) {
        if (!size_field->is_number_integer() || size_field->get<int64_t>() < static_cast<int64_t>(kSnapshotPageMinBytes) ||
            size_field->get<int64_t>() > static_cast<int64_t>(kSnapshotPageMaxBytes))
            return bad_page("body.max_bytes, a whole number of bytes from " + std::to_string(kSnapshotPageMinBytes) +
                            " to " + std::to_string(kSnapshotPageMaxBytes) + ", found " +
                            size_field->dump().substr(0, 32));
        max_bytes = size_field->get<size_t>();
    }
    if (!history) return unavailable();
    // Unpaged: the whole snapshot or a refusal, as before paging.
    auto page = paged ? history->snapshot_page(after, max_bytes, kAnswerBodyBytes) : history->snapshot(kAnswerBodyBytes);
    if (!page) return page.error();
    nlohmann::json next = nullptr;
    if (!page->done && page->last) next = cursor_text(*page->last);
    return nlohmann::json{{"schema", 1},           {"hospital", page->hospital}, {"seq", page->seq},
                          {"records", std::move(page->records)}, {"next", std::move(next)}, {"done", page->done}};
}

}  // namespace hisgate::agent
