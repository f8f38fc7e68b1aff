// Feature flags (issue 16 item 8): operator-set switches, each on for some hospitals, read
// by the agent and the control plane through one question, Flags::enabled(name, hospital),
// so a cloud feature is on only for agents whose version supports it.
//
// A flag is on for a hospital when the hospital's agent runs at least `min_version` and
//   - the hospital is listed in `hospitals`, or
//   - the hospital matches every entry of `selector` (region, dialect; an empty selector
//     matches every hospital) and its bucket is below `percent`.
// The bucket is the first 32 bits of SHA-256("<flag name>/<hospital id>") modulo 100: the
// same hospital always lands in the same bucket for a flag (raising the percentage only
// adds hospitals), and two flags at 10% pick different hospitals.
// An agent whose version is unknown or not a version never has a gated flag on.
//
// Bounded: names [a-z0-9_.-]{1,64}, at most kMaxFlags flags, kMaxFlagHospitals ids each.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hisgate::params {

inline constexpr std::size_t kMaxFlags = 256;
inline constexpr std::size_t kMaxFlagHospitals = 1000;

// What a flag is decided on: the hospital and what its agent said of itself.
struct FlagTarget {
    std::string hospital_id;
    std::string region;
    std::string dialect;
    std::string version;  // the agent's release ("0.3.0"); "" when unknown
};

struct FeatureFlag {
    std::string name;
    std::vector<std::string> hospitals;
    std::map<std::string, std::string> selector;  // "region", "dialect"
    int percent = 0;                              // 0..100, of the hospitals the selector matches
    std::string min_version;                      // "" = any version
    std::string updated_by;                       // who set it (the token's subject)
    int64_t updated_ms = 0;

    bool on_for(const FlagTarget& target) const;
    nlohmann::json to_json() const;
    // BadInput "flags.invalid" naming the field.
    static Result<FeatureFlag> from_json(const nlohmann::json& j);
};

// 0..99: the hospital's bucket for the flag.
int flag_bucket(std::string_view flag, std::string_view hospital_id);

// The one question every reader asks.
class Flags {
public:
    virtual ~Flags() = default;
    virtual bool enabled(std::string_view name, const std::string& hospital_id) const = 0;
};

// A set of flags, by name.
class FlagSet {
public:
    // {"flags": [...]}; BadInput "flags.invalid".
    static Result<FlagSet> from_json(const nlohmann::json& j);
    nlohmann::json to_json() const;

    const FeatureFlag* find(std::string_view name) const;
    bool enabled(std::string_view name, const FlagTarget& target) const {
        const FeatureFlag* f = find(name);
        return f && f->on_for(target);
    }
    // The names of the flags on for `target`, sorted.
    std::vector<std::string> enabled_for(const FlagTarget& target) const;
    const std::map<std::string, FeatureFlag, std::less<>>& all() const { return flags_; }
    void put(FeatureFlag flag) { flags_[flag.name] = std::move(flag); }
    bool remove(std::string_view name);

private:
    std::map<std::string, FeatureFlag, std::less<>> flags_;
};

}  // namespace hisgate::params
