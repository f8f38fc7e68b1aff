#include "common/config.h"

#include <fstream>
#include <sstream>

namespace hisgate {

std::string describe_json_type(const nlohmann::json& v) {
    if (v.is_string()) return "string " + v.dump();
    if (v.is_boolean()) return "boolean " + v.dump();
    if (v.is_number()) return "number " + v.dump();
    if (v.is_null()) return "null";
    if (v.is_array()) return "an array";
    return "an object";
}

ConfigReader::ConfigReader(nlohmann::json doc, std::string source) : doc_(std::move(doc)), source_(std::move(source)) {
    if (!doc_.is_object()) problem("", "a JSON object at the top level", describe_json_type(doc_));
}

Result<ConfigReader> ConfigReader::load_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error(ErrorClass::Config, "config.unreadable", path + ": cannot open the file");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return ConfigReader(nlohmann::json::parse(text.str()), path);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() names the line and column.
        return make_error(ErrorClass::Config, "config.invalid_json", path + ": invalid JSON: " + e.what());
    }
}

const nlohmann::json* ConfigReader::lookup(const std::string& path) const {
    const nlohmann::json* node = &doc_;
    size_t start = 0;
    while (start <= path.size()) {
        size_t dot = path.find('.', start);
        std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!node->is_object()) return nullptr;
        auto it = node->find(key);
        if (it == node->end()) return nullptr;
        node = &*it;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return node;
}

bool ConfigReader::has(const std::string& path) const { return lookup(path) != nullptr; }

const nlohmann::json* ConfigReader::take(const std::string& path, bool required) {
    read_.insert(path);
    const auto* v = lookup(path);
    if (!v && required) problem(path, "a value (this field is required)", "nothing");
    return v;
}

void ConfigReader::problem(const std::string& path, const std::string& expected, const std::string& found) {
    problems_.push_back(source_ + ": " + (path.empty() ? "(top level)" : path) + ": expected " + expected +
                        ", found " + found);
}

std::string ConfigReader::string(const std::string& path, std::optional<std::string> fallback) {
    const auto* v = take(path, !fallback);
    if (!v) return fallback.value_or("");
    if (!v->is_string()) {
        problem(path, "a string", describe_json_type(*v));
        return fallback.value_or("");
    }
    return v->get<std::string>();
}

int64_t ConfigReader::integer(const std::string& path, std::optional<int64_t> fallback, int64_t min, int64_t max) {
    const auto* v = take(path, !fallback);
    if (!v) return fallback.value_or(min);
    if (!v->is_number_integer()) {
        problem(path, "an integer", describe_json_type(*v));
        return fallback.value_or(min);
    }
    auto n = v->get<int64_t>();
    if (n < min || n > max) {
        problem(path, "an integer from " + std::to_string(min) + " to " + std::to_string(max), std::to_string(n));
        return fallback.value_or(min);
    }
    return n;
}

bool ConfigReader::boolean(const std::string& path, std::optional<bool> fallback) {
    const auto* v = take(path, !fallback);
    if (!v) return fallback.value_or(false);
    if (!v->is_boolean()) {
        problem(path, "true or false", describe_json_type(*v));
        return fallback.value_or(false);
    }
    return v->get<bool>();
}

void ConfigReader::find_unread(const nlohmann::json& node, const std::string& prefix) {
    if (!node.is_object()) return;
    for (const auto& [key, value] : node.items()) {
        std::string path = prefix.empty() ? key : prefix + "." + key;
        if (read_.count(path)) continue;
        auto below = read_.lower_bound(path + ".");
        bool something_below_read = below != read_.end() && below->rfind(path + ".", 0) == 0;
        if (something_below_read) find_unread(value, path);
        else problems_.push_back(source_ + ": " + path + ": unknown key (check its spelling; see --help)");
    }
}

Result<void> ConfigReader::finish() {
    find_unread(doc_, "");
    if (problems_.empty()) return {};
    std::string all;
    for (const auto& p : problems_) all += (all.empty() ? "" : "\n") + p;
    return make_error(ErrorClass::Config, "config.invalid", all);
}

}  // namespace hisgate
