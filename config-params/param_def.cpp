#include "config-params/param_def.h"
#include "common/check.h"

#include <algorithm>
#include <array>
#include <set>

#include "common/config.h"
#include "common/pattern.h"
#include "config-params/value_types.h"

namespace hisgate::params {

namespace {
constexpr std::array<std::pair<ParamType, std::string_view>, 13> kTypeNames{{
    {ParamType::String, "string"},
    {ParamType::Int, "int"},
    {ParamType::Bool, "bool"},
    {ParamType::Enum, "enum"},
    {ParamType::Duration, "duration"},
    {ParamType::TimeOfDay, "time_of_day"},
    {ParamType::Regex, "regex"},
    {ParamType::Endpoint, "endpoint"},
    {ParamType::IpRange, "ip_range"},
    {ParamType::CodeTable, "code_table"},
    {ParamType::CodingMap, "coding_map"},
    {ParamType::List, "list"},
    {ParamType::Object, "object"},
}};

const std::set<std::string> kFields = {"name", "type", "default", "required", "required_when", "values", "min", "max",
                                       "unit", "pattern", "items", "doc", "notes", "since", "readers",
                                       "meaning_version", "area"};

bool ordered(ParamType t) { return t == ParamType::Int || t == ParamType::Duration || t == ParamType::TimeOfDay; }
}  // namespace

std::optional<ParamType> parse_type(std::string_view name) {
    for (const auto& [type, spelling] : kTypeNames) {
        if (spelling == name) return type;
    }
    return std::nullopt;
}

std::string_view to_string(ParamType t) {
    for (const auto& [type, spelling] : kTypeNames) {
        if (type == t) return spelling;
    }
    return "?";
}

std::string type_text(const ParamDef& def) {
    std::string text(to_string(def.type));
    return def.items ? text + " of " + std::string(to_string(*def.items)) : text;
}

ParamDef ParamDef::item_def() const {
    HISGATE_CHECK(type == ParamType::List && items, "item definition of a non-list parameter", name);
    ParamDef item = *this;
    item.type = *items;
    item.items.reset();
    return item;
}

namespace {

// Reads the fields of one definition object, recording problems under "<at>.<field>".
class FieldReader {
public:
    FieldReader(const nlohmann::json& j, std::string at, Problems& problems) : j_(j), at_(std::move(at)), p_(problems) {}

    const nlohmann::json* get(const std::string& field) const {
        auto it = j_.find(field);
        return it == j_.end() ? nullptr : &*it;
    }
    std::string path(const std::string& field) const { return at_ + "." + field; }
    void mismatch(const std::string& field, const std::string& expected, const nlohmann::json& found) {
        p_.add(path(field), expected, describe_json_type(found));
    }
    void problem(const std::string& field, const std::string& expected, const std::string& found) {
        p_.add(path(field), expected, found);
    }

    // A string field; "" when absent (a problem if required) or not a string.
    std::string text(const std::string& field, bool required, bool one_line = false) {
        const auto* v = get(field);
        if (!v) {
            if (required) problem(field, "a string (this field is required)", "nothing");
            return "";
        }
        if (!v->is_string() || (required && v->get<std::string>().empty()) ||
            (one_line && v->get<std::string>().find('\n') != std::string::npos)) {
            mismatch(field, std::string(required ? "a non-empty" : "a") + (one_line ? " one-line string" : " string"), *v);
            return "";
        }
        return v->get<std::string>();
    }

    std::vector<std::string> strings(const std::string& field, bool required) {
        const auto* v = get(field);
        std::vector<std::string> out;
        if (!v) {
            if (required) problem(field, "an array of strings (this field is required)", "nothing");
            return out;
        }
        std::set<std::string> seen;
        bool ok = v->is_array() && !v->empty();
        for (size_t i = 0; ok && i < v->size(); ++i) {
            const auto& e = (*v)[i];
            ok = e.is_string() && !e.get<std::string>().empty() && seen.insert(e.get<std::string>()).second;
            if (ok) out.push_back(e.get<std::string>());
        }
        if (!ok) mismatch(field, "a non-empty array of distinct non-empty strings", *v);
        return ok ? out : std::vector<std::string>{};
    }

    void unknown_fields() {
        for (const auto& [key, value] : j_.items()) {
            if (!kFields.count(key)) p_.add(path(key), "a definition field (name, type, default, doc, ...)", "unknown field \"" + key + "\"");
        }
    }

    Problems& problems() { return p_; }

private:
    const nlohmann::json& j_;
    std::string at_;
    Problems& p_;
};

}  // namespace

std::optional<ParamDef> parse_definition(const nlohmann::json& j, const std::string& area, const std::string& where,
                                         Problems& problems) {
    if (!j.is_object()) {
        problems.add(where, "a parameter definition object", describe_json_type(j));
        return std::nullopt;
    }
    size_t before = problems.size();
    ParamDef def;
    {
        // Name first: once known, it locates every other problem better than an index.
        FieldReader names(j, where, problems);
        def.name = names.text("name", true);
        static const Pattern kName = Pattern::compile("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*").value();
        if (!def.name.empty() && !kName.full_match(def.name)) {
            names.mismatch("name", "a dotted name of lowercase words (e.g. his.hl7.version)", j["name"]);
            def.name.clear();
        }
    }
    FieldReader r(j, def.name.empty() ? where : def.name, problems);
    r.unknown_fields();

    std::string type = r.text("type", true);
    if (auto t = parse_type(type)) def.type = *t;
    else if (!type.empty()) r.mismatch("type", "one of string, int, bool, enum, duration, time_of_day, regex, endpoint, code_table, coding_map, list, object", j["type"]);

    if (const auto* items = r.get("items")) {
        auto t = items->is_string() ? parse_type(items->get<std::string>()) : std::nullopt;
        if (def.type != ParamType::List) r.mismatch("items", "no items (only a list has them)", *items);
        else if (!t || *t == ParamType::List) r.mismatch("items", "the element type (any type but list)", *items);
        else def.items = t;
    } else if (def.type == ParamType::List) {
        r.problem("items", "the element type of the list", "nothing");
    }
    // Constraints apply to a list's elements, so they are checked against the element type.
    ParamType base = def.items.value_or(def.type);

    def.doc = r.text("doc", true, true);
    def.notes = r.text("notes", false);
    def.since = r.text("since", true);
    static const Pattern kRelease = Pattern::compile("[0-9]+\\.[0-9]+\\.[0-9]+").value();
    if (!def.since.empty() && !kRelease.full_match(def.since)) {
        r.mismatch("since", "a release number like 0.2.0", j["since"]);
    }
    def.readers = r.strings("readers", true);
    def.area = r.get("area") ? r.text("area", true) : area;

    if (r.get("values")) {
        def.values = r.strings("values", true);
        if (base != ParamType::Enum && def.type != ParamType::CodeTable) {
            r.mismatch("values", "no values (only enum, code_table and list of enum have them)", j["values"]);
        }
    } else if (base == ParamType::Enum) {
        r.problem("values", "the allowed values of the enum", "nothing");
    }
    for (const char* field : {"min", "max"}) {
        const auto* v = r.get(field);
        if (!v) continue;
        if (!ordered(base)) {
            r.mismatch(field, "no range (only int, duration and time_of_day have one)", *v);
            continue;
        }
        ParamDef bare;
        bare.type = base;
        Problems bound;
        check_value(bare, *v, r.path(field), bound);
        if (bound.empty()) (std::string(field) == "min" ? def.min : def.max) = *v;
        else r.mismatch(field, describe_expected(bare), *v);
    }
    if (def.min && def.max && ordinal(base, *def.min) > ordinal(base, *def.max)) {
        r.mismatch("max", "a bound not below min " + def.min->dump(), *def.max);
    }
    if (r.get("unit")) {
        def.unit = r.text("unit", true);
        if (base != ParamType::Int) r.mismatch("unit", "no unit (only int has one)", j["unit"]);
    }
    if (r.get("pattern")) {
        def.pattern = r.text("pattern", true);
        if (base != ParamType::String && base != ParamType::CodingMap)
            r.mismatch("pattern", "no pattern (only string and coding_map have one)", j["pattern"]);
        if (auto compiled = Pattern::compile(def.pattern); !compiled) {
            r.problem("pattern", "a regular expression RE2 accepts", j["pattern"].dump() + " (" + compiled.error().message + ")");
            def.pattern.clear();
        }
    }
    if (const auto* mv = r.get("meaning_version")) {
        if (mv->is_number_integer() && mv->get<int64_t>() >= 1 && mv->get<int64_t>() <= 1000000) def.meaning_version = mv->get<int>();
        else r.mismatch("meaning_version", "a positive integer", *mv);
    }
    if (const auto* rw = r.get("required_when")) {
        // The named parameters are checked by the catalog, which knows them all.
        bool ok = rw->is_object() && !rw->empty() &&
                  std::none_of(rw->begin(), rw->end(), [](const nlohmann::json& v) { return v.is_structured(); });
        if (ok) def.required_when = *rw;
        else r.mismatch("required_when", "an object of parameter name -> value", *rw);
    }

    const auto* required = r.get("required");
    const auto* fallback = r.get("default");
    if (required && *required != true) r.mismatch("required", "true (or no \"required\" field and a default)", *required);
    def.required = required && *required == true;
    if (def.required == (fallback != nullptr)) {
        r.problem("default", "exactly one of \"default\" and \"required\": true", fallback ? "both" : "neither");
    } else if (def.required && !def.required_when.empty()) {
        r.mismatch("required_when", "no condition on a parameter that is always required", j["required_when"]);
    }
    // The default must itself be a valid value; only checkable once the rest is sound.
    if (problems.size() != before) return std::nullopt;
    if (fallback) {
        check_value(def, *fallback, r.path("default"), problems);
        if (problems.size() != before) return std::nullopt;
        def.default_value = *fallback;
    }
    return def;
}

nlohmann::json to_json(const ParamDef& def) {
    nlohmann::json j = {{"name", def.name}, {"type", to_string(def.type)}, {"doc", def.doc}, {"since", def.since},
                        {"readers", def.readers}, {"area", def.area}};
    if (def.required) j["required"] = true;
    if (def.default_value) j["default"] = *def.default_value;
    if (!def.required_when.empty()) j["required_when"] = def.required_when;
    if (!def.values.empty()) j["values"] = def.values;
    if (def.min) j["min"] = *def.min;
    if (def.max) j["max"] = *def.max;
    if (!def.unit.empty()) j["unit"] = def.unit;
    if (!def.pattern.empty()) j["pattern"] = def.pattern;
    if (def.items) j["items"] = to_string(*def.items);
    if (!def.notes.empty()) j["notes"] = def.notes;
    if (def.meaning_version != 1) j["meaning_version"] = def.meaning_version;
    return j;
}

}  // namespace hisgate::params
