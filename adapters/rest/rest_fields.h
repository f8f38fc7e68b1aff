// Where a REST HIS keeps each piece of information: hisgate's logical field names mapped
// to where its bodies keep them. The defaults are camelCase keys; his.rest.field_map
// renames any of them, to another key ("patientNo") or to a JSON pointer relative to the
// object that holds the field ("/patient/cardNo"), so a vendor's shape is a parameter, not code.
// Both sides use it: the adapter to read and write bodies, and his-sim to play the HIS.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"

namespace hisgate::rest {

class RestFields {
public:
    // `renames` is logical field -> key or JSON pointer (his.rest.field_map). Errors name
    // `parameter` + "." + the logical field that is unknown or not a usable key or pointer.
    static Result<RestFields> from_json(const nlohmann::json& renames, const std::string& parameter);

    // Where a logical field is kept, for messages: e.g. where("patient.id") -> "patientId".
    const std::string& where(const std::string& logical) const;

    // The field in `obj`; nullptr when absent.
    const nlohmann::json* find(const nlohmann::json& obj, const std::string& logical) const;
    // A string field; "" when absent (a field the HIS stopped sending reads as empty).
    std::string text(const nlohmann::json& obj, const std::string& logical) const;
    void put(nlohmann::json& obj, const std::string& logical, nlohmann::json value) const;

private:
    std::map<std::string, std::string> keys_;  // logical -> key, or JSON pointer when it starts with '/'
};

// Every logical field and its default key.
extern const std::map<std::string, std::string> kDefaultKeys;

}  // namespace hisgate::rest
