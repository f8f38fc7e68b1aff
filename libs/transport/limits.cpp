#include "transport/limits.h"

namespace hisgate::limits {

namespace {
bool names_an_id(const std::string& key) {
    return key == "id" || (key.size() > 2 && key.compare(key.size() - 2, 2, "Id") == 0);
}

std::optional<Error> too_long(const std::string& path, std::size_t limit, std::size_t found, const std::string& code) {
    return make_error(ErrorClass::BadInput, code,
                      path + " is at most " + std::to_string(limit) + " bytes, found " + std::to_string(found));
}

std::optional<Error> walk(const nlohmann::json& v, const std::string& path, std::size_t text_limit,
                          const std::string& code, int depth) {
    HISGATE_CHECK(depth <= kMaxJsonDepth, "depth", std::to_string(depth));
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s.size() > text_limit) return too_long(path, text_limit, s.size(), code);
    } else if (v.is_object()) {
        for (const auto& [key, item] : v.items()) {
            if (key.size() > kTextBytes)
                return too_long("a field name in " + path, kTextBytes, key.size(), code);
            if (auto bad = walk(item, path + "." + key, names_an_id(key) ? kIdBytes : kTextBytes, code, depth + 1))
                return bad;
        }
    } else if (v.is_array()) {
        std::size_t i = 0;
        for (const auto& item : v) {
            if (auto bad = walk(item, path + "[" + std::to_string(i++) + "]", text_limit, code, depth + 1)) return bad;
        }
    }
    return std::nullopt;
}
}  // namespace

std::optional<Error> oversized_field(const nlohmann::json& body, const std::string& where, const std::string& code) {
    return walk(body, where, kTextBytes, code, 0);
}

}  // namespace hisgate::limits
