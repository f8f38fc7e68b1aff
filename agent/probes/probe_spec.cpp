#include "agent/probes/probe_spec.h"

#include <set>

#include "common/config.h"
#include "common/pattern.h"
#include "config-params/problems.h"
#include "config-params/value_types.h"

namespace hisgate::agent::probes {

namespace {

const char* const kFields[] = {"path", "operation", "cases", "interval"};

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

// One probe object; problems are recorded under `at` ("probes[2]").
std::optional<ProbeSpec> parse_one(const nlohmann::json& item, const std::string& at, params::Problems& problems) {
    if (!item.is_object()) {
        problems.add(at, "an object {\"path\", \"operation\", \"cases\", \"interval\"}", describe_json_type(item));
        return std::nullopt;
    }
    size_t before = problems.size();
    for (const auto& [key, value] : item.items()) {
        bool known = false;
        for (const char* f : kFields) known = known || key == f;
        if (!known) problems.add(at + "." + key, "one of the fields path, operation, cases, interval", "an unknown field");
    }
    ProbeSpec spec;

    static const Pattern path_name = Pattern::compile("[a-z][a-z0-9_]{0,47}").value();
    if (!item.contains("path")) problems.add(at + ".path", "the business path's name, e.g. \"lab_report\"", "nothing");
    else if (const auto& p = item["path"]; !p.is_string() || !path_name.full_match(p.get_ref<const std::string&>()))
        problems.add(at + ".path", "a name of lowercase letters, digits and _ starting with a letter (at most 48), e.g. \"lab_report\"",
                     describe_json_type(p));
    else spec.path = p.get<std::string>();

    std::string operations = "one of " + join(operation_names());
    std::optional<Operation> op;
    if (item.contains("operation") && item["operation"].is_string())
        op = operation_from_string(item["operation"].get<std::string>());
    if (!item.contains("operation")) problems.add(at + ".operation", operations, "nothing");
    else if (!op) problems.add(at + ".operation", operations, describe_json_type(item["operation"]));
    else spec.operation = *op;

    // Cases are named for what they are when the operation says so.
    std::string case_words = op ? std::string(case_meaning(*op)) : std::string("a case id");
    if (!item.contains("cases")) {
        problems.add(at + ".cases", "a non-empty list of candidate cases (each " + case_words + ")", "nothing");
    } else if (const auto& c = item["cases"]; !c.is_array() || c.empty()) {
        problems.add(at + ".cases", "a non-empty list of candidate cases (each " + case_words + ")",
                     c.is_array() ? "an empty list" : describe_json_type(c));
    } else {
        std::set<std::string> seen;
        for (size_t i = 0; i < c.size(); ++i) {
            std::string where = at + ".cases[" + std::to_string(i) + "]";
            if (!c[i].is_string() || c[i].get<std::string>().empty()) {
                problems.add(where, case_words + " as a non-empty string", describe_json_type(c[i]));
                continue;
            }
            auto id = c[i].get<std::string>();
            if (!seen.insert(id).second) problems.add(where, "a case not listed before", "a repeat of " + c[i].dump());
            else spec.cases.push_back(id);
        }
    }

    std::string durations = "a duration from 1s to 24h like \"5m\"";
    if (item.contains("interval")) {
        const auto& iv = item["interval"];
        auto d = iv.is_string() ? params::parse_duration(iv.get<std::string>()) : std::nullopt;
        if (!d || *d < kMinInterval || *d > kMaxInterval) problems.add(at + ".interval", durations, describe_json_type(iv));
        else spec.interval = *d;
    } else {
        spec.interval = kDefaultInterval;
    }
    if (problems.size() != before) return std::nullopt;
    return spec;
}

}  // namespace

Result<std::vector<ProbeSpec>> parse_probes(const nlohmann::json& probes, const std::string& source) {
    params::Problems problems;
    std::vector<ProbeSpec> specs;
    if (!probes.is_array()) {
        problems.add("probes", "a list of probe objects", describe_json_type(probes));
        return problems.to_error("probes.invalid", source);
    }
    std::set<std::string> paths;
    for (size_t i = 0; i < probes.size(); ++i) {
        std::string at = "probes[" + std::to_string(i) + "]";
        auto spec = parse_one(probes[i], at, problems);
        if (!spec) continue;
        // One probe per path: the path's availability must be one measurement.
        if (!paths.insert(spec->path).second)
            problems.add(at + ".path", "a path no earlier probe names", "a second probe for \"" + spec->path + "\"");
        else specs.push_back(std::move(*spec));
    }
    if (!problems.empty()) return problems.to_error("probes.invalid", source);
    return specs;
}

Result<std::vector<ProbeSpec>> probes_from_params(const params::ParamSet& params, const std::string& source) {
    return parse_probes(params.json("probes"), source);
}

}  // namespace hisgate::agent::probes
