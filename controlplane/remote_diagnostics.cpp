#include "controlplane/remote_diagnostics.h"

#include <algorithm>
#include <set>

#include "common/trace_lines.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

namespace {
std::string text(const nlohmann::json& line, const char* key) {
    auto it = line.find(key);
    return it != line.end() && it->is_string() ? it->get<std::string>() : "";
}
}  // namespace

Result<nlohmann::json> RemoteDiagnostics::trace(const std::string& trace_id, std::vector<std::string> hospitals) {
    if (!valid_trace_id(trace_id))
        return make_error(ErrorClass::BadInput, "trace.bad_id", "a trace id is 32 lowercase hex digits");
    if (hospitals.size() > kMaxHospitals)
        return make_error(ErrorClass::BadInput, "trace.too_many_hospitals",
                          "at most " + std::to_string(kMaxHospitals) + " hospitals per trace");
    for (const auto& h : hospitals)
        if (!topics::valid_hospital_id(h))
            return make_error(ErrorClass::BadInput, "hospital.bad_id", "a hospital id is 1 to 64 characters of A-Z a-z 0-9 _ -");
    std::vector<nlohmann::json> lines;
    nlohmann::json sources = nlohmann::json::array();
    if (!own_log_file_.empty()) {
        auto own = trace_lines({own_log_file_}, trace_id, {.max_lines_bytes = limits::kAnswerBytes / 2});
        if (!own) return own.error();
        sources.push_back({{"process", own_process_}, {"lines", own->lines.size()}, {"truncated", own->truncated}});
        // Without hospitals named: those the trace went to, as this instance's lines say.
        if (hospitals.empty()) {
            std::set<std::string> seen;
            for (const auto& l : own->lines)
                if (auto h = text(l, "hospital_id"); topics::valid_hospital_id(h) && seen.insert(h).second &&
                                                      hospitals.size() < kMaxHospitals)
                    hospitals.push_back(h);
        }
        lines = std::move(own->lines);
    }
    for (const auto& h : hospitals) {
        auto asked = router_.ask(h, "logs.get", {{"traceId", trace_id}});
        if (!asked.answer) {
            sources.push_back({{"process", "agent:" + h},
                               {"error", {{"code", asked.answer.error().code}, {"message", asked.answer.error().message}}}});
            continue;
        }
        const auto& answer = asked.answer.value();
        auto got = answer.find("lines");
        std::size_t n = 0;
        if (got != answer.end() && got->is_array())
            for (const auto& l : *got)
                if (l.is_object()) lines.push_back(l), ++n;
        sources.push_back({{"process", "agent:" + h}, {"lines", n}, {"truncated", answer.value("truncated", false)}});
    }
    std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return text(a, "ts") < text(b, "ts"); });
    return nlohmann::json{{"traceId", trace_id}, {"lines", std::move(lines)}, {"sources", std::move(sources)}};
}

Result<nlohmann::json> RemoteDiagnostics::doctor(const std::string& hospital_id) {
    return std::move(router_.ask(hospital_id, "doctor.run", nlohmann::json::object()).answer);
}

}  // namespace hisgate::controlplane
