#include "config-params/catalog_diff.h"

#include <algorithm>
#include <set>

#include "config-params/value_types.h"

namespace hisgate::params {

std::string Change::line() const {
    return kind + " " + name + (detail.empty() ? "" : ": " + detail) + (breaking ? " (breaking)" : "");
}

namespace {

std::string describe(const ParamDef& d) {
    return type_text(d) + (d.required ? ", required" : ", default " + d.default_value->dump());
}

std::string range(const ParamDef& d) {
    return (d.min ? bound_text(*d.min) : "") + ".." + (d.max ? bound_text(*d.max) : "");
}

std::string bullets(const std::vector<std::string>& values, const char* sign) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "" : " ") + std::string(sign) + "\"" + v + "\"";
    return out;
}

// Bounds widen when they move outward or disappear. Only for an unchanged ordered type.
bool narrowed(const ParamDef& a, const ParamDef& b) {
    ParamType t = b.items.value_or(b.type);
    bool min_up = b.min && (!a.min || ordinal(t, *b.min) > ordinal(t, *a.min));
    bool max_down = b.max && (!a.max || ordinal(t, *b.max) < ordinal(t, *a.max));
    return min_up || max_down;
}

void compare(const ParamDef& a, const ParamDef& b, std::vector<Change>& out) {
    auto add = [&](std::string kind, std::string detail, bool breaking) {
        out.push_back({std::move(kind), b.name, std::move(detail), breaking});
    };
    if (a.type != b.type || a.items != b.items) {
        // Every other comparison is meaningless across types.
        add("retyped", describe(a) + " -> " + describe(b), true);
        return;
    }
    if (!a.required && b.required) add("required", "now required (was default " + a.default_value->dump() + ")", true);
    if (a.required && !b.required) add("required", "now optional, default " + b.default_value->dump(), false);
    if (a.required_when != b.required_when) {
        add("required", "required_when " + a.required_when.dump() + " -> " + b.required_when.dump(), !b.required_when.empty());
    }
    if (a.default_value && b.default_value && *a.default_value != *b.default_value) {
        add("default", a.default_value->dump() + " -> " + b.default_value->dump(), false);
    }
    if (a.min != b.min || a.max != b.max || a.unit != b.unit) {
        std::string unit = a.unit == b.unit ? "" : " (unit \"" + a.unit + "\" -> \"" + b.unit + "\")";
        add("range", range(a) + " -> " + range(b) + unit, narrowed(a, b));
    }
    if (a.values != b.values) {
        std::vector<std::string> removed, added;
        for (const auto& v : a.values) {
            if (std::find(b.values.begin(), b.values.end(), v) == b.values.end()) removed.push_back(v);
        }
        for (const auto& v : b.values) {
            if (std::find(a.values.begin(), a.values.end(), v) == a.values.end()) added.push_back(v);
        }
        // No values on a code_table or list means any value: gaining a list narrows it.
        bool narrowing = !removed.empty() || (a.values.empty() && !b.values.empty());
        std::string detail = bullets(added, "+") + (added.empty() || removed.empty() ? "" : " ") + bullets(removed, "-");
        if (added.empty() && removed.empty()) detail = "reordered";
        add("values", detail, narrowing);
    }
    if (a.pattern != b.pattern) {
        // Whether one regex accepts a superset of another is undecidable in practice:
        // any new pattern may reject a value that was valid.
        add("pattern", "\"" + a.pattern + "\" -> \"" + b.pattern + "\"", !b.pattern.empty());
    }
    if (a.meaning_version != b.meaning_version) {
        add("meaning", "meaning_version " + std::to_string(a.meaning_version) + " -> " + std::to_string(b.meaning_version), true);
    }
}

}  // namespace

std::vector<Change> diff(const Catalog& before, const Catalog& after) {
    std::set<std::string> names;
    for (const auto& d : before.all()) names.insert(d.name);
    for (const auto& d : after.all()) names.insert(d.name);
    std::vector<Change> out;
    for (const auto& name : names) {
        const ParamDef* a = before.find(name);
        const ParamDef* b = after.find(name);
        if (!a) {
            // A new parameter breaks old files only if they must now set it.
            bool demanded = b->required || !b->required_when.empty();
            out.push_back({"added", name, describe(*b), demanded});
        } else if (!b) {
            out.push_back({"removed", name, describe(*a), true});
        } else {
            compare(*a, *b, out);
        }
    }
    return out;
}

}  // namespace hisgate::params
