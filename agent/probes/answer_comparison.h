// Comparing a probe's canonical answer with the last good one.
//
// Fields are named by JSON pointer into the canonical form ("/title",
// "/observations/718-7/value"). A difference names fields only, never their values, so it
// can be logged and sent upstream without carrying patient data.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hisgate::agent::probes {

// Lowercase hex SHA-256 of the canonical JSON text (keys sorted, no white space).
std::string fingerprint(const nlohmann::json& canonical);

struct FieldDiff {
    std::vector<std::string> appeared;     // in the new answer only
    std::vector<std::string> disappeared;  // in the last good answer only
    std::vector<std::string> changed;      // in both, with another value

    bool empty() const { return appeared.empty() && disappeared.empty() && changed.empty(); }
    nlohmann::json to_json() const;
};

// Each list sorted; empty when the answers are equal.
FieldDiff compare(const nlohmann::json& last_good, const nlohmann::json& now);

}  // namespace hisgate::agent::probes
