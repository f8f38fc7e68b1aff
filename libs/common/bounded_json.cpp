#include "common/bounded_json.h"

namespace hisgate {

int json_depth(std::string_view text, int stop_above) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '[':
            case '{':
                if (++depth > deepest) deepest = depth;
                if (deepest > stop_above) return deepest;
                break;
            case ']':
            case '}':
                if (depth > 0) --depth;  // unbalanced: the parser says so
                break;
            default: break;
        }
    }
    return deepest;
}

Result<nlohmann::json> parse_bounded_json(std::string_view text, const JsonBounds& bounds) {
    if (text.size() > bounds.max_bytes)
        return make_error(ErrorClass::BadInput, bounds.code_prefix + ".too_large",
                          bounds.what + " is at most " + std::to_string(bounds.max_bytes) + " bytes, found " +
                              std::to_string(text.size()));
    if (json_depth(text) > kMaxJsonDepth)
        return make_error(ErrorClass::BadInput, bounds.code_prefix + ".too_deep",
                          bounds.what + " nests arrays and objects at most " + std::to_string(kMaxJsonDepth) +
                              " levels deep, found more");
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
        return make_error(ErrorClass::BadInput, bounds.code_prefix + ".invalid", bounds.what + " is not valid JSON");
    return doc;
}

}  // namespace hisgate
