#include "controlplane/health/health_api.h"

#include <chrono>

#include "common/utc_time.h"
#include "common/query_params.h"
#include "transport/topics.h"

namespace hisgate::controlplane::health {

namespace {
constexpr char kBadQuery[] = "health.bad_query";
constexpr size_t kMaxQueryBytes = 512;


nlohmann::json share(const std::optional<double>& s) { return s ? nlohmann::json(*s) : nlohmann::json(); }
}  // namespace

Result<nlohmann::json> health_paths(PathHealthStore& store, const std::string& raw_query) {
    auto read = read_query(raw_query, kBadQuery, kMaxQueryBytes, {"hospital"});
    if (!read) return read.error();
    std::string hospital;
    if (auto it = read->find("hospital"); it != read->end()) {
        if (!topics::valid_hospital_id(it->second))
            return bad_query(kBadQuery, "hospital", "a hospital id: 1 to 64 characters of A-Z a-z 0-9 _ -", it->second);
        hospital = it->second;
    }
    auto found = store.paths(hospital);
    if (!found) return found.error();
    nlohmann::json out = {{"paths", nlohmann::json::array()}};
    for (const auto& p : *found)
        out["paths"].push_back(
            {{"hospitalId", p.hospital_id},
             {"path", p.path},
             {"lastOutcome", p.last_outcome},
             {"lastAt", iso_utc_ms(p.last_at_ms)},
             {"lastChange", iso_utc_ms(p.last_change_ms)},
             {"availability", {{"1h", share(p.availability_1h)}, {"24h", share(p.availability_24h)}}},
             {"probes", {{"1h", p.probes_1h}, {"24h", p.probes_24h}}},
             {"lastFailure", p.last_failure_ms > 0 ? nlohmann::json{{"at", iso_utc_ms(p.last_failure_ms)},
                                                                    {"reason", p.last_failure_reason}}
                                                   : nlohmann::json()}});
    return out;
}

}  // namespace hisgate::controlplane::health
