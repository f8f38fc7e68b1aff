// Reading a program's JSON configuration with every problem reported at once.
//
// Each accessor takes a dotted path ("broker.uri"), records a problem if the value is
// missing or of the wrong type or range, and returns the default (or a zero value) so
// reading can go on. finish() then fails if any problem was recorded, or if the file has
// a key that nothing read: a misspelt key must never be silently ignored.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate {

class ConfigReader {
public:
    ConfigReader(nlohmann::json doc, std::string source);
    static Result<ConfigReader> load_file(const std::string& path);

    std::string string(const std::string& path, std::optional<std::string> fallback = std::nullopt);
    int64_t integer(const std::string& path, std::optional<int64_t> fallback, int64_t min, int64_t max);
    bool boolean(const std::string& path, std::optional<bool> fallback = std::nullopt);
    bool has(const std::string& path) const;
    // The value at path, marked read as a whole: its reader validates what is inside.
    const nlohmann::json* section(const std::string& path) { return take(path, false); }
    // The value at path without marking it read (nullptr if absent).
    const nlohmann::json* peek(const std::string& path) const { return lookup(path); }

    void problem(const std::string& path, const std::string& expected, const std::string& found);
    Result<void> finish();

private:
    const nlohmann::json* lookup(const std::string& path) const;
    const nlohmann::json* take(const std::string& path, bool required);
    void find_unread(const nlohmann::json& node, const std::string& prefix);

    nlohmann::json doc_;
    std::string source_;
    std::set<std::string> read_;
    std::vector<std::string> problems_;
};

std::string describe_json_type(const nlohmann::json& v);

}  // namespace hisgate
