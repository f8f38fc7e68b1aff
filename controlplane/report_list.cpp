#include "controlplane/report_list.h"

#include <algorithm>

#include "common/digest.h"
#include "common/query_params.h"

namespace hisgate::controlplane {

namespace {

constexpr char kBadReportsQuery[] = "reports.bad_query";
constexpr size_t kMaxReportsQueryBytes = 2048;
// A cursor is "r1" + the hex of issuedAt '\n' reportId; each part of an answer is at most
// kMaxReportField bytes (longer ones are refused as a bad answer).
constexpr size_t kMaxReportField = 256;

std::string report_cursor(const std::string& issued_at, const std::string& report_id) {
    return "r1" + to_hex(issued_at + "\n" + report_id);
}

std::optional<std::pair<std::string, std::string>> report_cursor_position(const std::string& cursor) {
    if (cursor.size() < 4 || cursor.size() > 2 + 4 * kMaxReportField + 2 || cursor.compare(0, 2, "r1") != 0)
        return std::nullopt;
    auto text = from_hex(std::string_view(cursor).substr(2));
    if (!text) return std::nullopt;
    auto nl = text->find('\n');
    if (nl == std::string::npos || text->find('\n', nl + 1) != std::string::npos) return std::nullopt;
    return std::pair{text->substr(0, nl), text->substr(nl + 1)};
}

// Newest first; reports issued at the same time by id.
bool report_before(const std::pair<std::string, std::string>& a, const std::pair<std::string, std::string>& b) {
    if (a.first != b.first) return a.first > b.first;
    return a.second < b.second;
}

}  // namespace

Result<ReportsQuery> read_reports_query(const std::string& raw_query) {
    auto given = read_query(raw_query, kBadReportsQuery, kMaxReportsQueryBytes, {"patientId", "limit", "cursor"});
    if (!given) return given.error();
    ReportsQuery q;
    if (auto it = given->find("patientId"); it != given->end()) q.patient_id = it->second;
    auto limit = query_int(*given, kBadReportsQuery, "limit", 1, kMaxReportsPage, q.limit);
    if (!limit) return limit.error();
    q.limit = *limit;
    if (auto it = given->find("cursor"); it != given->end()) {
        q.after = report_cursor_position(it->second);
        if (!q.after) return bad_query(kBadReportsQuery, "cursor", "the nextCursor of an earlier page", it->second);
    }
    return q;
}

Result<nlohmann::json> reports_page(const nlohmann::json& answer, const std::string& patient_id, const ReportsQuery& q) {
    auto bad = [](const std::string& why) {
        return make_error(ErrorClass::Internal, "reports.bad_answer", "the hospital's list of reports " + why);
    };
    auto list = answer.is_object() ? answer.find("reports") : answer.end();
    if (!answer.is_object() || list == answer.end() || !list->is_array()) return bad("is not a list");
    struct Row {
        std::pair<std::string, std::string> key;  // issuedAt, reportId
        const nlohmann::json* item;
    };
    std::vector<Row> rows;
    rows.reserve(list->size());
    for (const auto& r : *list) {
        auto id = r.is_object() ? r.find("reportId") : r.end();
        auto issued = r.is_object() ? r.find("issuedAt") : r.end();
        if (!r.is_object() || id == r.end() || !id->is_string() || issued == r.end() || !issued->is_string())
            return bad("holds an entry without reportId and issuedAt");
        const auto& id_text = id->get_ref<const std::string&>();
        const auto& issued_text = issued->get_ref<const std::string&>();
        if (id_text.empty() || id_text.size() > kMaxReportField || issued_text.size() > kMaxReportField)
            return bad("holds an entry longer than " + std::to_string(kMaxReportField) + " bytes");
        rows.push_back({{issued_text, id_text}, &r});
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return report_before(a.key, b.key); });
    nlohmann::json page = {{"patientId", patient_id}, {"reports", nlohmann::json::array()}};
    size_t i = 0;
    if (q.after) i = std::upper_bound(rows.begin(), rows.end(), *q.after,
                                      [](const auto& key, const Row& r) { return report_before(key, r.key); }) -
                     rows.begin();
    for (size_t shown = 0; i < rows.size() && shown < static_cast<size_t>(q.limit); ++i, ++shown) {
        const auto& r = *rows[i].item;
        auto text_of = [&r](const char* name) {
            auto it = r.find(name);
            return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        page["reports"].push_back({{"reportId", rows[i].key.second},
                                   {"title", text_of("title")},
                                   {"status", text_of("status")},
                                   {"issuedAt", rows[i].key.first}});
    }
    if (i < rows.size()) page["nextCursor"] = report_cursor(rows[i - 1].key.first, rows[i - 1].key.second);
    return page;
}

}  // namespace hisgate::controlplane
