#include "controlplane/fhir/fhir_bundle.h"

#include <Poco/URI.h>

namespace hisgate::controlplane::fhir {

std::string page_query(const std::map<std::string, std::string>& params) {
    std::string q;
    for (const auto& [name, value] : params) {
        std::string encoded;
        Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]", encoded);
        q += (q.empty() ? "" : "&") + name + "=" + encoded;
    }
    return q;
}

nlohmann::json searchset(const std::string& base, const std::string& type, const std::map<std::string, std::string>& params,
                         const std::vector<nlohmann::json>& resources, const std::string& next_cursor) {
    const std::string root = (base.empty() ? std::string("/fhir/r4") : base) + "/" + type;
    auto url = [&](const std::map<std::string, std::string>& p) {
        auto q = page_query(p);
        return q.empty() ? root : root + "?" + q;
    };
    nlohmann::json links = nlohmann::json::array();
    links.push_back({{"relation", "self"}, {"url", url(params)}});
    if (!next_cursor.empty()) {
        auto next = params;
        next["_cursor"] = next_cursor;
        links.push_back({{"relation", "next"}, {"url", url(next)}});
    }
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& r : resources)
        entries.push_back({{"fullUrl", root + "/" + r.value("id", "")}, {"resource", r}, {"search", {{"mode", "match"}}}});
    nlohmann::json b = {{"resourceType", "Bundle"}, {"type", "searchset"}, {"link", links}};
    if (!entries.empty()) b["entry"] = entries;  // FHIR has no empty arrays
    return b;
}

}  // namespace hisgate::controlplane::fhir
