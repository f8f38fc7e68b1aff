#include "cli/table.h"

#include <cstdint>

namespace hisgate::cli {

std::string field_text(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return "";
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return "";
    if (it->is_string()) return it->get<std::string>();
    return it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
struct Glyph {
    std::size_t bytes;
    std::size_t width;  // 0 for a control character, which is dropped
};

// One UTF-8 sequence at `i` (a malformed byte is one glyph of its own).
Glyph glyph_at(const std::string& s, std::size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > s.size()) len = 1;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    std::size_t width = cp < 0x20 || cp == 0x7F ? 0 : cp >= 0x1100 ? 2 : 1;
    return {len, width};
}
}  // namespace

std::string column(const std::string& s, std::size_t cols) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < s.size();) {
        auto g = glyph_at(s, i);
        total += g.width;
        i += g.bytes;
    }
    // Room for the "~" when the text does not fit.
    const std::size_t room = total <= cols ? cols : (cols > 0 ? cols - 1 : 0);
    std::string out;
    std::size_t width = 0;
    for (std::size_t i = 0; i < s.size();) {
        auto g = glyph_at(s, i);
        if (width + g.width > room) break;
        if (g.width > 0) out.append(s, i, g.bytes);
        width += g.width;
        i += g.bytes;
    }
    if (total > cols && cols > 0) out += '~', ++width;
    out.append(cols - width, ' ');
    return out;
}

}  // namespace hisgate::cli
