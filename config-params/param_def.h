// One parameter of the catalog: its name, type, default or requiredness, the constraints
// its values must meet, and its documentation.
//
// Definitions are data (config-params/catalog/*.json); this is their in-memory form.
// Invariants after parse_definition succeeds: exactly one of `required` and
// `default_value` is set, the default (if any) meets every constraint, min/max are
// values of the type, and `items` is set iff the type is list.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config-params/problems.h"

namespace hisgate::params {

enum class ParamType { String, Int, Bool, Enum, Duration, TimeOfDay, Regex, Endpoint, IpRange, CodeTable, CodingMap, List, Object };

std::optional<ParamType> parse_type(std::string_view name);
std::string_view to_string(ParamType t);

struct ParamDef {
    std::string name;  // dotted: "his.hl7.version"
    ParamType type = ParamType::String;
    std::optional<nlohmann::json> default_value;  // absent iff required
    bool required = false;
    // Required when every named parameter has the given value (defaults applied), e.g.
    // {"his.dialect": "soap-xml"}. The parameter still has a default for the other cases.
    nlohmann::json required_when = nlohmann::json::object();
    // enum: the allowed values; list: allowed items; code_table: allowed mapped values.
    std::vector<std::string> values;
    // int: JSON integers; duration: "30s"; time_of_day: "08:00". For a list, per item.
    std::optional<nlohmann::json> min, max;
    std::string unit;     // int only: what the number counts
    std::string pattern;  // string (or list of string): RE2 regex the value must contain a match of;
                          // coding_map: the one each mapped code must contain a match of
    std::optional<ParamType> items;  // list only: the type of each element
    std::string doc;                 // one line
    std::string notes;               // longer text, may be empty
    std::string since;               // release that introduced it
    std::vector<std::string> readers;  // adapters and features that read it
    int meaning_version = 1;  // bumped when the name stays but the meaning changes
    std::string area;         // the catalog fragment it came from ("his", "hl7", ...)

    // The definition a list's elements are checked against (type = items, same constraints).
    ParamDef item_def() const;
};

// The type as people read it: "duration", "list of string".
std::string type_text(const ParamDef& def);

// Reads one definition from a catalog fragment, recording every problem under `where`
// (e.g. "parameters[3]"). Returns nothing when there was any problem.
std::optional<ParamDef> parse_definition(const nlohmann::json& j, const std::string& area, const std::string& where,
                                         Problems& problems);

// The definition as it appears in a catalog file (inverse of parse_definition).
nlohmann::json to_json(const ParamDef& def);

}  // namespace hisgate::params
