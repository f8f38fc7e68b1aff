#include "config-params/param_set.h"
#include "common/check.h"

#include <algorithm>

#include "common/config.h"
#include "common/digest.h"
#include "config-params/json_text.h"
#include "config-params/value_types.h"

namespace hisgate::params {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

// What a key under `group` could have been: the closest known key when it looks like a
// typo, else all of them.
std::string expected_key(const Catalog& catalog, const std::string& group, const std::string& key) {
    auto known = catalog.children(group);
    std::string where = group.empty() ? "at the top level" : "under " + group;
    auto closest = std::min_element(known.begin(), known.end(), [&](const auto& a, const auto& b) {
        return edit_distance(a, key) < edit_distance(b, key);
    });
    if (closest != known.end() && edit_distance(*closest, key) <= 2) {
        return "a known key " + where + " (did you mean \"" + *closest + "\"?)";
    }
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return "one of the keys " + where + ": " + list;
}

class Walker {
public:
    Walker(const Catalog& catalog, Problems& problems, std::map<std::string, nlohmann::json>& given)
        : catalog_(catalog), problems_(problems), given_(given) {}

    // Every key of `node` (the object at `group`) is a parameter, a group of parameters, or a problem.
    void walk(const nlohmann::json& node, const std::string& group) {
        for (const auto& [key, value] : node.items()) {
            std::string name = group.empty() ? key : group + "." + key;
            if (key.find('.') != std::string::npos) {
                // Only the nested form is accepted, so a parameter has one spelling and
                // cannot be given twice.
                problems_.add(name, "a key without dots (nest the groups as objects)", "the key \"" + key + "\"");
            } else if (const ParamDef* def = catalog_.find(name)) {
                check_value(*def, value, name, problems_);
                given_[name] = value;
            } else if (catalog_.is_group(name)) {
                if (value.is_object()) walk(value, name);
                else problems_.add(name, "an object holding the " + name + ".* parameters", describe_json_type(value));
            } else {
                problems_.add(name, expected_key(catalog_, group, key), "unknown key \"" + key + "\"");
            }
        }
    }

private:
    const Catalog& catalog_;
    Problems& problems_;
    std::map<std::string, nlohmann::json>& given_;
};

std::string describe_condition(const nlohmann::json& when) {
    std::string out;
    for (const auto& [name, value] : when.items()) out += (out.empty() ? "" : " and ") + name + " is " + value.dump();
    return out;
}

}  // namespace

Result<ParamSet> ParamSet::validate(const Catalog& catalog, const nlohmann::json& file, const std::string& source) {
    Problems problems;
    std::map<std::string, nlohmann::json> given;
    if (file.is_object()) Walker(catalog, problems, given).walk(file, "");
    else problems.add("(top level)", "a JSON object", describe_json_type(file));

    ParamSet set;
    for (const auto& def : catalog.all()) {
        auto it = given.find(def.name);
        set.values_[def.name] = {def.type, it != given.end() ? it->second : def.default_value.value_or(nullptr)};
        if (it != given.end()) set.set_.insert(def.name);
    }
    for (const auto& def : catalog.all()) {
        if (set.set_.count(def.name)) continue;
        if (def.required) problems.add(def.name, "a value (this parameter is required)", "nothing");
        bool condition_met = !def.required_when.empty();
        for (const auto& [name, value] : def.required_when.items()) {
            condition_met = condition_met && set.values_.at(name).second == value;
        }
        if (condition_met) {
            problems.add(def.name, "a value (required when " + describe_condition(def.required_when) + ")", "nothing");
        }
    }
    if (!problems.empty()) return problems.to_error("params.invalid", source);
    // A document parsed from text is valid UTF-8; one built in code may not be, and must
    // not make validation throw, so invalid bytes hash as U+FFFD.
    set.hash_ = sha256_hex(file.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return set;
}

Result<ParamSet> ParamSet::load_file(const Catalog& catalog, const std::string& path) {
    auto text = read_text_file(path);
    if (!text) return make_error(ErrorClass::Config, "params.unreadable", path + ": cannot read the file");
    Problems problems;
    auto doc = parse_json(*text, problems);
    if (!doc) return problems.to_error("params.invalid", path);
    return validate(catalog, *doc, path);
}

const nlohmann::json& ParamSet::value_of(const std::string& name, std::initializer_list<ParamType> types) const {
    const auto& [type, value] = json_entry(name);
    HISGATE_CHECK(std::find(types.begin(), types.end(), type) != types.end(), "accessor of another type for", name);
    return value;
}

std::string ParamSet::string(const std::string& name) const {
    return value_of(name, {ParamType::String, ParamType::Enum, ParamType::Regex, ParamType::Endpoint}).get<std::string>();
}

int64_t ParamSet::integer(const std::string& name) const { return value_of(name, {ParamType::Int}).get<int64_t>(); }

bool ParamSet::boolean(const std::string& name) const { return value_of(name, {ParamType::Bool}).get<bool>(); }

std::chrono::milliseconds ParamSet::duration(const std::string& name) const {
    return *parse_duration(value_of(name, {ParamType::Duration}).get<std::string>());
}

int ParamSet::time_of_day(const std::string& name) const {
    return *parse_time_of_day(value_of(name, {ParamType::TimeOfDay}).get<std::string>());
}

std::map<std::string, std::string> ParamSet::code_table(const std::string& name) const {
    return value_of(name, {ParamType::CodeTable}).get<std::map<std::string, std::string>>();
}

const std::pair<ParamType, nlohmann::json>& ParamSet::json_entry(const std::string& name) const {
    HISGATE_CHECK(values_.count(name), "parameter not in the catalog", name);
    return values_.at(name);
}

const nlohmann::json& ParamSet::json(const std::string& name) const { return json_entry(name).second; }

bool ParamSet::has(const std::string& name) const {
    json_entry(name);
    return set_.count(name) != 0;
}

}  // namespace hisgate::params
