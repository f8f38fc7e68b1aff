// Reading JSON text for parameter and catalog files: a syntax error becomes a problem
// that names its line and column, and a key given twice in one object is a problem too
// (the parser would otherwise keep the last one and silently drop the other).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config-params/problems.h"

namespace hisgate::params {

// The parsed document, or nothing with the problems recorded.
std::optional<nlohmann::json> parse_json(const std::string& text, Problems& problems);

// The whole file, or nothing if it cannot be read.
std::optional<std::string> read_text_file(const std::string& path);

}  // namespace hisgate::params
