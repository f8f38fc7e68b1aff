// The pieces of the operator CLI's tables (hisgate fleet, alerts, triage): a field of an
// API answer as text, and a column cut and padded to a display width that counts CJK
// characters as two (hospital names are Chinese first).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace hisgate::cli {

// A field of an object as text: a string as it is, a missing field or null as "", any
// other value as its JSON (a count, a flag).
std::string field_text(const nlohmann::json& object, const char* key);

// `s` in exactly `cols` display columns: cut ("~" marks the cut) or padded with spaces.
// Control characters are dropped (a field never moves the terminal's cursor).
std::string column(const std::string& s, std::size_t cols);

}  // namespace hisgate::cli
