#include "common/query_params.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

namespace hisgate {

Error bad_query(const char* code, const std::string& name, const std::string& expected, const std::string& found) {
    // What came is the caller's: shown only in part.
    std::string shown = found.size() > 64 ? found.substr(0, 64) + "..." : found;
    return make_error(ErrorClass::BadInput, code,
                      "query parameter " + name + ": expected " + expected + ", found \"" + shown + "\"");
}

Result<int> query_int(const std::map<std::string, std::string>& given, const char* code, const std::string& name,
                      int min, int max, int fallback) {
    auto it = given.find(name);
    if (it == given.end()) return fallback;
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos;
    long n = digits ? std::stol(v) : -1;
    if (!digits || n < min || n > max)
        return bad_query(code, name, "an integer from " + std::to_string(min) + " to " + std::to_string(max), v);
    return static_cast<int>(n);
}

Result<std::map<std::string, std::string>> read_query(const std::string& raw_query, const char* code,
                                                      std::size_t max_bytes, std::initializer_list<const char*> names) {
    return read_query(raw_query, code, max_bytes, std::vector<const char*>(names));
}

Result<std::map<std::string, std::string>> read_query(const std::string& raw_query, const char* code,
                                                      std::size_t max_bytes, const std::vector<const char*>& names) {
    if (raw_query.size() > max_bytes)
        return bad_query(code, "(query)", "at most " + std::to_string(max_bytes) + " bytes",
                         std::to_string(raw_query.size()) + " bytes");
    Poco::URI::QueryParameters params;
    try {
        Poco::URI uri;
        uri.setRawQuery(raw_query);
        params = uri.getQueryParameters();
    } catch (const Poco::Exception&) {
        return bad_query(code, "(query)", "name=value pairs joined by &, percent-encoded", raw_query);
    }
    std::string known;
    for (const char* n : names) known += (known.empty() ? "" : ", ") + std::string(n);
    if (names.size() > 1) known = "one of " + known;
    std::map<std::string, std::string> given;
    for (const auto& [name, value] : params) {
        bool listed = false;
        for (const char* n : names) listed = listed || name == n;
        if (!listed) return bad_query(code, name, known, name);
        if (!given.emplace(name, value).second) return bad_query(code, name, "at most once", "repeated");
    }
    return given;
}

}  // namespace hisgate
