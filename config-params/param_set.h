// A hospital's parameter file, checked against the catalog, with defaults applied.
//
// The file is nested JSON following the dotted names:
//   {"hospital": {"id": "H001"}, "his": {"dialect": "hl7v2-mllp", "hl7": {"version": "2.5"}}}
// A parameter of type object, code_table or list is a leaf even though its value is an
// object or array. Unknown keys are errors (a misspelt key is never silently ignored);
// every problem is reported at once, one per line:
//   <source>: <json path>: expected <what>, found <what>
//
// Accessors take a catalog name; a name that is not in the catalog, or an accessor that
// does not fit the parameter's type, is a programming error and asserts.
#pragma once

#include <chrono>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/error.h"
#include "config-params/catalog.h"

namespace hisgate::params {

class ParamSet {
public:
    // Errors: Config "params.invalid" with every problem in the message.
    static Result<ParamSet> validate(const Catalog& catalog, const nlohmann::json& file, const std::string& source);
    // As validate, after reading and parsing the file; invalid JSON is reported with its
    // line and column ("params.invalid"), an unreadable file as "params.unreadable".
    static Result<ParamSet> load_file(const Catalog& catalog, const std::string& path);

    // string, enum, regex and endpoint parameters.
    std::string string(const std::string& name) const;
    int64_t integer(const std::string& name) const;
    bool boolean(const std::string& name) const;
    std::chrono::milliseconds duration(const std::string& name) const;
    int time_of_day(const std::string& name) const;  // minutes since midnight
    std::map<std::string, std::string> code_table(const std::string& name) const;
    const nlohmann::json& json(const std::string& name) const;  // any type, default applied
    bool has(const std::string& name) const;  // set in the file (not defaulted)
    size_t count_set() const { return set_.size(); }

    // Lowercase hex SHA-256 of the file's canonical JSON (keys sorted, no white space):
    // the parameter-set hash of the agent's birth message.
    const std::string& hash() const { return hash_; }

private:
    const std::pair<ParamType, nlohmann::json>& json_entry(const std::string& name) const;
    const nlohmann::json& value_of(const std::string& name, std::initializer_list<ParamType> types) const;

    std::map<std::string, std::pair<ParamType, nlohmann::json>> values_;  // every catalog parameter
    std::set<std::string> set_;
    std::string hash_;
};

}  // namespace hisgate::params
