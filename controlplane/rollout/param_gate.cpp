#include "controlplane/rollout/param_gate.h"

#include "config-params/catalog_diff.h"
#include "config-params/param_set.h"

namespace hisgate::controlplane::rollout {

namespace {
constexpr size_t kMaxProblems = 100;  // listed per hospital; the rest counted

// "<source>: <path>: <problem>" lines (config-params/problems.h) as {"parameter", "problem"}.
nlohmann::json problems_of(const std::string& message, const std::string& source) {
    nlohmann::json out = nlohmann::json::array();
    size_t i = 0, more = 0;
    while (i < message.size()) {
        size_t j = message.find('\n', i);
        if (j == std::string::npos) j = message.size();
        std::string line = message.substr(i, j - i);
        i = j + 1;
        if (line.rfind(source + ": ", 0) == 0) line = line.substr(source.size() + 2);
        if (line.empty()) continue;
        if (out.size() >= kMaxProblems) {
            ++more;
            continue;
        }
        size_t colon = line.find(": ");
        if (colon == std::string::npos) out.push_back({{"parameter", ""}, {"problem", line}});
        else out.push_back({{"parameter", line.substr(0, colon)}, {"problem", line.substr(colon + 2)}});
    }
    if (more > 0) out.push_back({{"parameter", ""}, {"problem", std::to_string(more) + " more problems"}});
    return out;
}
}  // namespace

GateVerdict check_params(const params::Catalog* from, const params::Catalog& to, const std::optional<nlohmann::json>& file,
                         const std::string& hospital_id) {
    std::vector<params::Change> breaking;
    if (from)
        for (auto& c : params::diff(*from, to))
            if (c.breaking) breaking.push_back(std::move(c));
    if (from && breaking.empty()) return {};
    std::string names;
    for (size_t i = 0; i < breaking.size() && i < 20; ++i) names += (i ? ", " : "") + breaking[i].name;
    if (!file) {
        GateVerdict v{GateVerdict::Kind::NeedFile,
                      from ? "the release changes parameters in a breaking way (" + names +
                                 "); the hospital's parameter file is needed to check them"
                           : "the hospital's current release is not in the repository; its parameter file is needed",
                      nlohmann::json::array()};
        for (const auto& c : breaking) v.problems.push_back({{"parameter", c.name}, {"problem", "to check: " + c.line()}});
        return v;
    }
    const std::string source = "hospital " + hospital_id;
    auto checked = params::ParamSet::validate(to, *file, source);
    GateVerdict v;
    if (!checked) v.problems = problems_of(checked.error().message, source);
    else
        for (const auto& c : breaking)
            if (c.kind == "meaning" && to.find(c.name) && checked->has(c.name))
                v.problems.push_back({{"parameter", c.name}, {"problem", "its meaning changes: " + c.line()}});
    if (v.problems.empty()) return v;
    v.kind = GateVerdict::Kind::Hold;
    v.reason = "the release would break the hospital's parameter file: " + std::to_string(v.problems.size()) +
               " parameter(s) to fix";
    return v;
}

}  // namespace hisgate::controlplane::rollout
