#include "release/release_version.h"

#include <charconv>

namespace hisgate::release {

namespace {

constexpr uint32_t kMaxNumber = 999999;
constexpr std::size_t kMaxPreIdentifiers = 8;

Error bad(std::string_view text, const std::string& why) {
    return make_error(ErrorClass::BadInput, "release.bad_version",
                      "version '" + std::string(text.substr(0, kMaxVersionLength)) + "': " + why);
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// A numeric part: digits, no leading zero (so "1.02.0" and "1.2.0" are not two spellings).
bool parse_number(std::string_view s, uint32_t& out) {
    if (!all_digits(s) || (s.size() > 1 && s[0] == '0') || s.size() > 6) return false;
    std::from_chars(s.data(), s.data() + s.size(), out);
    return out <= kMaxNumber;
}

}  // namespace

std::string ReleaseVersion::to_string() const {
    std::string s = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    for (size_t i = 0; i < pre.size(); ++i) s += (i == 0 ? "-" : ".") + pre[i];
    return s;
}

std::strong_ordering ReleaseVersion::operator<=>(const ReleaseVersion& o) const {
    if (auto c = major <=> o.major; c != 0) return c;
    if (auto c = minor <=> o.minor; c != 0) return c;
    if (auto c = patch <=> o.patch; c != 0) return c;
    // A release is newer than any of its pre-releases.
    if (pre.empty() && o.pre.empty()) return std::strong_ordering::equal;
    if (pre.empty()) return std::strong_ordering::greater;
    if (o.pre.empty()) return std::strong_ordering::less;
    for (size_t i = 0; i < pre.size() && i < o.pre.size(); ++i) {
        const std::string& a = pre[i];
        const std::string& b = o.pre[i];
        bool an = all_digits(a), bn = all_digits(b);
        if (an && bn) {
            if (auto c = a.size() <=> b.size(); c != 0) return c;  // no leading zeros: longer is larger
            if (auto c = a <=> b; c != 0) return c;
        } else if (an != bn) {
            return an ? std::strong_ordering::less : std::strong_ordering::greater;
        } else if (auto c = a <=> b; c != 0) {
            return c;
        }
    }
    return pre.size() <=> o.pre.size();
}

Result<ReleaseVersion> parse_version(std::string_view text) {
    if (text.empty()) return bad(text, "empty");
    if (text.size() > kMaxVersionLength)
        return bad(text, "longer than " + std::to_string(kMaxVersionLength) + " characters");
    if (text.find('+') != std::string_view::npos) return bad(text, "build metadata (+...) is not allowed");
    std::string_view core = text, pre;
    if (auto dash = text.find('-'); dash != std::string_view::npos) {
        core = text.substr(0, dash);
        pre = text.substr(dash + 1);
        if (pre.empty()) return bad(text, "empty pre-release after '-'");
    }
    ReleaseVersion v;
    uint32_t* parts[] = {&v.major, &v.minor, &v.patch};
    size_t start = 0;
    for (int i = 0; i < 3; ++i) {
        size_t dot = core.find('.', start);
        if ((i < 2) != (dot != std::string_view::npos)) return bad(text, "expected MAJOR.MINOR.PATCH");
        std::string_view part = core.substr(start, i < 2 ? dot - start : std::string_view::npos);
        if (!parse_number(part, *parts[i]))
            return bad(text, "'" + std::string(part) + "' is not a number from 0 to 999999 without leading zeros");
        start = dot + 1;
    }
    while (!pre.empty()) {
        size_t dot = pre.find('.');
        std::string_view id = pre.substr(0, dot);
        if (id.empty()) return bad(text, "empty pre-release identifier");
        for (char c : id)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
                return bad(text, "pre-release identifiers hold only [0-9A-Za-z-]");
        if (all_digits(id) && id.size() > 1 && id[0] == '0') return bad(text, "numeric pre-release identifier with a leading zero");
        if (v.pre.size() == kMaxPreIdentifiers) return bad(text, "more than 8 pre-release identifiers");
        v.pre.emplace_back(id);
        if (dot == std::string_view::npos) break;
        pre.remove_prefix(dot + 1);
        if (pre.empty()) return bad(text, "empty pre-release identifier");
    }
    return v;
}

}  // namespace hisgate::release
