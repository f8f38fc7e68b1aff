#include "config-params/value_types.h"
#include "common/check.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "common/config.h"
#include "common/ip_range.h"
#include "common/pattern.h"

namespace hisgate::params {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    // Nine digits keep the largest value (999999999h) far inside int64 milliseconds.
    if (digits == 0 || digits > 9) return std::nullopt;
    int64_t n = 0;
    std::from_chars(text.data(), text.data() + digits, n);
    std::string_view unit = text.substr(digits);
    if (unit == "ms") return std::chrono::milliseconds(n);
    if (unit == "s") return std::chrono::seconds(n);
    if (unit == "m") return std::chrono::minutes(n);
    if (unit == "h") return std::chrono::hours(n);
    return std::nullopt;
}

std::optional<int> parse_time_of_day(std::string_view text) {
    auto digit = [&](size_t i) { return std::isdigit(static_cast<unsigned char>(text[i])) != 0; };
    if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) return std::nullopt;
    int hours = (text[0] - '0') * 10 + (text[1] - '0');
    int minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (hours > 23 || minutes > 59) return std::nullopt;
    return hours * 60 + minutes;
}

namespace {

// A DNS name or IPv4 address (letters, digits, '.', '-', not starting or ending with
// '.' or '-'), or a bracketed IPv6 address.
bool is_host(std::string_view h) {
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
        return h.substr(1, h.size() - 2).find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos;
    }
    if (h.empty() || h.size() > 253) return false;
    auto edge_ok = [](char c) { return c != '.' && c != '-'; };
    if (!edge_ok(h.front()) || !edge_ok(h.back())) return false;
    return std::all_of(h.begin(), h.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    });
}

bool is_port(std::string_view p) {
    if (p.empty() || p.size() > 5) return false;
    int n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    return ec == std::errc() && end == p.data() + p.size() && n >= 1 && n <= 65535;
}

// "host:port" where host may be a bracketed IPv6 address (its colons are inside brackets).
bool is_host_port(std::string_view a, bool port_required) {
    size_t colon = a.rfind(':');
    if (colon != std::string_view::npos && (a.front() != '[' || colon > a.rfind(']'))) {
        return is_host(a.substr(0, colon)) && is_port(a.substr(colon + 1));
    }
    return !port_required && is_host(a);
}

}  // namespace

bool is_endpoint(std::string_view text) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (text.substr(0, scheme.size()) != scheme) continue;
        std::string_view rest = text.substr(scheme.size());
        size_t slash = rest.find('/');
        std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
        bool path_ok = std::none_of(path.begin(), path.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
        return path_ok && !rest.empty() && is_host_port(rest.substr(0, slash), false);
    }
    return !text.empty() && is_host_port(text, true);
}

int64_t ordinal(ParamType type, const nlohmann::json& value) {
    switch (type) {
        case ParamType::Int: return value.get<int64_t>();
        case ParamType::Duration: return parse_duration(value.get<std::string>())->count();
        case ParamType::TimeOfDay: return *parse_time_of_day(value.get<std::string>());
        default: HISGATE_CHECK(false, "ordinal of an unordered type", to_string(type)); return 0;
    }
}

std::string bound_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

namespace {

std::string quoted_list(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "\"" : ", \"") + v + "\"";
    return out;
}

std::string describe_range(const ParamDef& def) {
    if (def.min && def.max) return " from " + bound_text(*def.min) + " to " + bound_text(*def.max);
    if (def.min) return " of at least " + bound_text(*def.min);
    if (def.max) return " of at most " + bound_text(*def.max);
    return "";
}

}  // namespace

std::string describe_expected(const ParamDef& def) {
    switch (def.type) {
        case ParamType::String:
            return def.pattern.empty() ? "a string" : "a string matching /" + def.pattern + "/";
        case ParamType::Int:
            return "an integer" + describe_range(def) + (def.unit.empty() ? "" : " (" + def.unit + ")");
        case ParamType::Bool: return "true or false";
        case ParamType::Enum: return "one of " + quoted_list(def.values);
        case ParamType::Duration:
            return "a duration" + describe_range(def) + " (a whole number and ms, s, m or h, e.g. \"30s\")";
        case ParamType::TimeOfDay: return "a time of day \"HH:MM\" (24 h)" + describe_range(def);
        case ParamType::Regex: return "a regular expression RE2 accepts (ECMAScript syntax without backreferences or lookaround)";
        case ParamType::Endpoint: return "an endpoint \"host:port\" or \"http(s)://host:port/path\"";
        case ParamType::IpRange: return "an IP address or CIDR block, e.g. \"10.1.2.3\", \"10.1.0.0/16\" or \"fd00::/8\"";
        case ParamType::CodeTable:
            return def.values.empty() ? "an object mapping codes to code strings"
                                      : "an object mapping codes to one of " + quoted_list(def.values);
        case ParamType::CodingMap:
            return "an object of at most " + std::to_string(kMaxCodingMapEntries) +
                   " entries mapping codes to {\"code\", \"display\"}";
        case ParamType::List: return "an array, each element " + describe_expected(def.item_def());
        case ParamType::Object: return "a JSON object";
    }
    return "";
}

namespace {

bool in_range(const ParamDef& def, const nlohmann::json& value) {
    int64_t n = ordinal(def.type, value);
    return (!def.min || n >= ordinal(def.type, *def.min)) && (!def.max || n <= ordinal(def.type, *def.max));
}

bool allowed(const std::vector<std::string>& values, const std::string& v) {
    return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
}

// Whether a value of the JSON kind the type needs has the right form; string types only.
bool well_formed(const ParamDef& def, const std::string& s, std::string& why) {
    switch (def.type) {
        case ParamType::String: {
            if (def.pattern.empty()) return true;
            auto pattern = Pattern::compile(def.pattern);  // the catalog refused one that does not compile
            return pattern && pattern->search(s);
        }
        case ParamType::Enum: return allowed(def.values, s);
        case ParamType::Duration: return parse_duration(s).has_value() && in_range(def, s);
        case ParamType::TimeOfDay: return parse_time_of_day(s).has_value() && in_range(def, s);
        case ParamType::Endpoint: return is_endpoint(s);
        case ParamType::IpRange: return IpRange::parse(s).has_value();
        case ParamType::Regex:
            // The parameter's pattern will be matched against ids from outside: only RE2's
            // (linear, non-recursive) syntax is accepted.
            if (auto compiled = Pattern::compile(s); !compiled) {
                why = " (RE2 cannot compile it: " + compiled.error().message + ")";
                return false;
            }
            return true;
        default: return true;
    }
}

// 1 to `max` bytes, no control characters: a code or display that a log line or a FHIR
// resource can carry as it is.
bool plain_text(const nlohmann::json& v, size_t max) {
    if (!v.is_string()) return false;
    const auto& s = v.get_ref<const std::string&>();
    return !s.empty() && s.size() <= max &&
           std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string found_text(const nlohmann::json& v) {
    if (!v.is_string()) return describe_json_type(v);
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) return "an empty string";
    return "a string of " + std::to_string(s.size()) + " bytes" +
           (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })
                ? " with control characters"
                : "");
}

void check_coding_map(const ParamDef& def, const nlohmann::json& value, const std::string& path, Problems& problems) {
    if (value.size() > kMaxCodingMapEntries) {
        problems.add(path, describe_expected(def), "an object of " + std::to_string(value.size()) + " entries");
        return;
    }
    const std::string code_expected = "1 to " + std::to_string(kMaxCodingCodeBytes) + " bytes without control characters";
    std::optional<Pattern> pattern;
    if (!def.pattern.empty()) pattern = Pattern::compile(def.pattern).value();  // the catalog compiled it
    for (const auto& [key, entry] : value.items()) {
        if (!plain_text(key, kMaxCodingCodeBytes)) {
            // A bad key is not repeated in the path: it may be what is wrong.
            problems.add(path, "codes of " + code_expected, "a code of " + found_text(key));
            continue;
        }
        const std::string where = path + "[\"" + key + "\"]";
        if (!entry.is_object()) {
            problems.add(where, "an object {\"code\": ..., \"display\": ...}", describe_json_type(entry));
            continue;
        }
        for (const auto& [field, v] : entry.items())
            if (field != "code" && field != "display")
                problems.add(where + "." + (plain_text(field, 64) ? field : "?"), "only code and display",
                             "unknown field");
        const auto code = entry.find("code");
        if (code == entry.end()) {
            problems.add(where + ".code", "the standard code", "nothing");
        } else if (!plain_text(*code, kMaxCodingCodeBytes)) {
            problems.add(where + ".code", code_expected, found_text(*code));
        } else if (pattern && !pattern->search(code->get<std::string>())) {
            problems.add(where + ".code", "a code matching /" + def.pattern + "/",
                         "string \"" + code->get<std::string>() + "\"");
        }
        const auto display = entry.find("display");
        if (display == entry.end()) {
            problems.add(where + ".display", "the code's display", "nothing");
        } else if (!plain_text(*display, kMaxCodingDisplayBytes)) {
            problems.add(where + ".display",
                         "1 to " + std::to_string(kMaxCodingDisplayBytes) + " bytes without control characters",
                         found_text(*display));
        }
    }
}

}  // namespace

void check_value(const ParamDef& def, const nlohmann::json& value, const std::string& path, Problems& problems) {
    auto mismatch = [&](std::string why = "") { problems.add(path, describe_expected(def), describe_json_type(value) + why); };
    switch (def.type) {
        case ParamType::Bool:
            if (!value.is_boolean()) mismatch();
            return;
        case ParamType::Int: {
            // Above int64 the parser keeps an unsigned number, which would wrap when compared.
            bool fits = value.is_number_integer() &&
                        !(value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX));
            if (!fits || !in_range(def, value)) mismatch();
            return;
        }
        case ParamType::Object:
            if (!value.is_object()) mismatch();
            return;
        case ParamType::List:
            if (!value.is_array()) return mismatch();
            for (size_t i = 0; i < value.size(); ++i) {
                check_value(def.item_def(), value[i], path + "[" + std::to_string(i) + "]", problems);
            }
            return;
        case ParamType::CodingMap:
            if (!value.is_object()) return mismatch();
            check_coding_map(def, value, path, problems);
            return;
        case ParamType::CodeTable:
            if (!value.is_object()) return mismatch();
            for (const auto& [code, mapped] : value.items()) {
                if (!mapped.is_string() || !allowed(def.values, mapped.get<std::string>())) {
                    problems.add(path + "[\"" + code + "\"]",
                                 def.values.empty() ? "a string" : "one of " + quoted_list(def.values),
                                 describe_json_type(mapped));
                }
            }
            return;
        default: {
            if (value.is_string() && value.get_ref<const std::string&>().size() > kMaxTextBytes) {
                // Checked before anything else reads it; the message does not repeat it.
                problems.add(path, describe_expected(def) + " of at most " + std::to_string(kMaxTextBytes) + " bytes",
                             "a string of " + std::to_string(value.get_ref<const std::string&>().size()) + " bytes");
                return;
            }
            std::string why;
            if (!value.is_string() || !well_formed(def, value.get<std::string>(), why)) mismatch(why);
        }
    }
}

}  // namespace hisgate::params
