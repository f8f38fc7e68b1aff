// The value formats of parameter files, and checking one value against its definition.
//
//   duration     "250ms", "30s", "5m", "2h"
//   time_of_day  "HH:MM", 24 h
//   endpoint     "host:port" or "http(s)://host[:port][/path]"
//   ip_range     an IP address or CIDR block: "10.1.2.3", "10.1.0.0/16", "fd00::/8"
//   regex        an RE2 regex (checked by compiling it with RE2, common/pattern.h)
//   code_table   a JSON object of vendor code -> hisgate code (both strings)
//   coding_map   a JSON object of the HIS's code -> a standard code and its display:
//                {"GLU": {"code": "2345-7", "display": "Glucose [Moles/volume] in Serum or Plasma"}}
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "config-params/param_def.h"
#include "config-params/problems.h"

namespace hisgate::params {

// The longest text value of a parameter file (a string, regex, endpoint, ...); a longer one
// is refused before its format is looked at (docs/architecture.md, "Limits").
inline constexpr std::size_t kMaxTextBytes = 4096;
// The largest parameter file or catalog fragment, and its deepest nesting: common/bounded_json.h.
inline constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;
// A coding_map's bounds: its entries, a HIS code (the key) and a standard code, and a display.
inline constexpr std::size_t kMaxCodingMapEntries = 2000;
inline constexpr std::size_t kMaxCodingCodeBytes = 64;
inline constexpr std::size_t kMaxCodingDisplayBytes = 256;

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<int> parse_time_of_day(std::string_view text);  // minutes since midnight
bool is_endpoint(std::string_view text);

// A range bound as written for people: 10 or 10m (not "10m").
std::string bound_text(const nlohmann::json& bound);

// What `def` accepts, in words: "a duration from 100ms to 10m (e.g. \"30s\")".
std::string describe_expected(const ParamDef& def);

// Checks `value` against the type and every constraint of `def`, recording each problem
// under `path` (list elements as path[i], code table entries as path["code"]).
void check_value(const ParamDef& def, const nlohmann::json& value, const std::string& path, Problems& problems);

// A comparable number for a range bound or value of an ordered type (int: itself,
// duration: milliseconds, time_of_day: minutes). Only for values that passed check_value.
int64_t ordinal(ParamType type, const nlohmann::json& value);

}  // namespace hisgate::params
