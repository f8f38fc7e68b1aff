#include "controlplane/health/health_api.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <chrono>

#include "common/utc_time.h"
#include "transport/topics.h"

namespace hisgate::controlplane::health {

namespace {
constexpr size_t kMaxQueryBytes = 512;

Error bad_query(const std::string& name, const std::string& expected, const std::string& found) {
    std::string shown = found.size() > 64 ? found.substr(0, 64) + "..." : found;
    return make_error(ErrorClass::BadInput, "health.bad_query",
                      "query parameter " + name + ": expected " + expected + ", found \"" + shown + "\"");
}

std::string iso_ms(int64_t ms) {
    return iso_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

nlohmann::json share(const std::optional<double>& s) { return s ? nlohmann::json(*s) : nlohmann::json(); }
}  // namespace

Result<nlohmann::json> health_paths(PathHealthStore& store, const std::string& raw_query) {
    if (raw_query.size() > kMaxQueryBytes)
        return bad_query("(query)", "at most " + std::to_string(kMaxQueryBytes) + " bytes",
                         std::to_string(raw_query.size()) + " bytes");
    Poco::URI::QueryParameters params;
    try {
        Poco::URI uri;
        uri.setRawQuery(raw_query);
        params = uri.getQueryParameters();
    } catch (const Poco::Exception&) {
        return bad_query("(query)", "name=value pairs joined by &, percent-encoded", raw_query);
    }
    std::string hospital;
    bool seen = false;
    for (const auto& [name, value] : params) {
        if (name != "hospital") return bad_query(name, "hospital", name);
        if (seen) return bad_query(name, "at most once", "repeated");
        seen = true;
        if (!topics::valid_hospital_id(value))
            return bad_query("hospital", "a hospital id: 1 to 64 characters of A-Z a-z 0-9 _ -", value);
        hospital = value;
    }
    auto found = store.paths(hospital);
    if (!found) return found.error();
    nlohmann::json out = {{"paths", nlohmann::json::array()}};
    for (const auto& p : *found)
        out["paths"].push_back(
            {{"hospitalId", p.hospital_id},
             {"path", p.path},
             {"lastOutcome", p.last_outcome},
             {"lastAt", iso_ms(p.last_at_ms)},
             {"lastChange", iso_ms(p.last_change_ms)},
             {"availability", {{"1h", share(p.availability_1h)}, {"24h", share(p.availability_24h)}}},
             {"probes", {{"1h", p.probes_1h}, {"24h", p.probes_24h}}},
             {"lastFailure", p.last_failure_ms > 0 ? nlohmann::json{{"at", iso_ms(p.last_failure_ms)},
                                                                    {"reason", p.last_failure_reason}}
                                                   : nlohmann::json()}});
    return out;
}

}  // namespace hisgate::controlplane::health
