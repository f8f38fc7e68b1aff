#include "config-params/feature_flags.h"

#include <algorithm>

#include "common/digest.h"
#include "release/release_version.h"
#include "transport/topics.h"

namespace hisgate::params {

namespace {

Error flag_error(const std::string& what) { return make_error(ErrorClass::BadInput, "flags.invalid", what); }

bool valid_flag_name(std::string_view n) {
    if (n.empty() || n.size() > 64) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    });
}

bool version_at_least(const std::string& have, const std::string& need) {
    if (need.empty()) return true;
    auto h = release::parse_version(have);
    auto n = release::parse_version(need);
    return h && n && h.value() >= n.value();
}

}  // namespace

int flag_bucket(std::string_view flag, std::string_view hospital_id) {
    std::string digest = sha256_hex(std::string(flag) + "/" + std::string(hospital_id));
    return static_cast<int>(std::stoul(digest.substr(0, 8), nullptr, 16) % 100);
}

bool FeatureFlag::on_for(const FlagTarget& t) const {
    if (!version_at_least(t.version, min_version)) return false;
    if (std::find(hospitals.begin(), hospitals.end(), t.hospital_id) != hospitals.end()) return true;
    for (const auto& [key, value] : selector) {
        const std::string& have = key == "region" ? t.region : t.dialect;
        if (have != value) return false;
    }
    return flag_bucket(name, t.hospital_id) < percent;
}

nlohmann::json FeatureFlag::to_json() const {
    nlohmann::json j = {{"name", name},           {"hospitals", hospitals}, {"selector", selector},
                        {"percent", percent},     {"minVersion", min_version},
                        {"updatedBy", updated_by}, {"updatedMs", updated_ms}};
    return j;
}

Result<FeatureFlag> FeatureFlag::from_json(const nlohmann::json& j) {
    if (!j.is_object()) return flag_error("a flag is a JSON object");
    for (const auto& [key, _] : j.items())
        if (key != "name" && key != "hospitals" && key != "selector" && key != "percent" && key != "minVersion" &&
            key != "updatedBy" && key != "updatedMs")
            return flag_error("unknown flag field \"" + key.substr(0, 64) +
                              "\" (expected name, hospitals, selector, percent, minVersion)");
    FeatureFlag f;
    auto name = j.find("name");
    if (name == j.end() || !name->is_string() || !valid_flag_name(name->get_ref<const std::string&>()))
        return flag_error("name: 1 to 64 characters of a-z 0-9 _ . -");
    f.name = name->get<std::string>();
    if (auto h = j.find("hospitals"); h != j.end()) {
        if (!h->is_array() || h->size() > kMaxFlagHospitals)
            return flag_error(f.name + ": hospitals: an array of at most " + std::to_string(kMaxFlagHospitals) + " ids");
        for (const auto& id : *h) {
            if (!id.is_string() || !topics::valid_hospital_id(id.get_ref<const std::string&>()))
                return flag_error(f.name + ": hospitals: ids of 1 to 64 characters of A-Z a-z 0-9 _ -");
            f.hospitals.push_back(id.get<std::string>());
        }
    }
    if (auto s = j.find("selector"); s != j.end()) {
        if (!s->is_object()) return flag_error(f.name + ": selector: an object of region and dialect");
        for (const auto& [key, value] : s->items()) {
            if (key != "region" && key != "dialect")
                return flag_error(f.name + ": selector: only region and dialect select, not \"" + key.substr(0, 64) + "\"");
            if (!value.is_string() || value.get_ref<const std::string&>().size() > 64)
                return flag_error(f.name + ": selector." + key + ": a string of at most 64 characters");
            f.selector[key] = value.get<std::string>();
        }
    }
    if (auto p = j.find("percent"); p != j.end()) {
        if (!p->is_number_integer() || p->get<int64_t>() < 0 || p->get<int64_t>() > 100)
            return flag_error(f.name + ": percent: an integer from 0 to 100");
        f.percent = p->get<int>();
    }
    if (auto v = j.find("minVersion"); v != j.end()) {
        if (!v->is_string()) return flag_error(f.name + ": minVersion: a release version such as 0.3.0");
        f.min_version = v->get<std::string>();
        if (!f.min_version.empty())
            if (auto parsed = release::parse_version(f.min_version); !parsed)
                return flag_error(f.name + ": minVersion: " + parsed.error().message);
    }
    if (auto by = j.find("updatedBy"); by != j.end() && by->is_string()) f.updated_by = by->get<std::string>().substr(0, 64);
    if (auto at = j.find("updatedMs"); at != j.end() && at->is_number_integer()) f.updated_ms = at->get<int64_t>();
    return f;
}

Result<FlagSet> FlagSet::from_json(const nlohmann::json& j) {
    auto list = j.is_object() ? j.find("flags") : j.end();
    if (list == j.end() || !list->is_array()) return flag_error("expected {\"flags\": [...]}");
    if (list->size() > kMaxFlags) return flag_error("at most " + std::to_string(kMaxFlags) + " flags");
    FlagSet set;
    for (const auto& item : *list) {
        auto f = FeatureFlag::from_json(item);
        if (!f) return f.error();
        if (set.find(f->name)) return flag_error("flag \"" + f->name + "\" is listed twice");
        set.put(std::move(f.value()));
    }
    return set;
}

nlohmann::json FlagSet::to_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [_, f] : flags_) list.push_back(f.to_json());
    return {{"flags", list}};
}

const FeatureFlag* FlagSet::find(std::string_view name) const {
    auto it = flags_.find(name);
    return it == flags_.end() ? nullptr : &it->second;
}

std::vector<std::string> FlagSet::enabled_for(const FlagTarget& target) const {
    std::vector<std::string> on;
    for (const auto& [name, f] : flags_)
        if (f.on_for(target)) on.push_back(name);
    return on;
}

bool FlagSet::remove(std::string_view name) {
    auto it = flags_.find(name);
    if (it == flags_.end()) return false;
    flags_.erase(it);
    return true;
}

}  // namespace hisgate::params
