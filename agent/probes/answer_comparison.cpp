#include "agent/probes/answer_comparison.h"

#include "common/digest.h"

namespace hisgate::agent::probes {

std::string fingerprint(const nlohmann::json& canonical) {
    return sha256_hex(canonical.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

nlohmann::json FieldDiff::to_json() const {
    return {{"appeared", appeared}, {"disappeared", disappeared}, {"changed", changed}};
}

FieldDiff compare(const nlohmann::json& last_good, const nlohmann::json& now) {
    // flatten() maps every leaf to its JSON pointer; its object keys come out sorted.
    auto before = last_good.flatten();
    auto after = now.flatten();
    FieldDiff d;
    for (const auto& [path, value] : after.items()) {
        auto it = before.find(path);
        if (it == before.end()) d.appeared.push_back(path);
        else if (*it != value) d.changed.push_back(path);
    }
    for (const auto& [path, value] : before.items())
        if (!after.contains(path)) d.disappeared.push_back(path);
    return d;
}

}  // namespace hisgate::agent::probes
