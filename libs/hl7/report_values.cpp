#include "hl7/report_values.h"

#include <cctype>

namespace hisgate::hl7 {

std::optional<std::string> report_status(std::string_view letter_or_word) {
    std::string s;
    for (unsigned char c : letter_or_word) s.push_back(static_cast<char>(std::tolower(c)));
    if (s == "f" || s == "final") return "final";
    if (s == "p" || s == "r" || s == "preliminary") return "preliminary";
    if (s == "c" || s == "corrected") return "corrected";
    if (s == "a" || s == "partial") return "partial";
    if (s == "m" || s == "amended") return "amended";
    if (s == "x" || s == "cancelled" || s == "canceled") return "cancelled";
    if (s == "o" || s == "i" || s == "s" || s == "registered" || s == "pending") return "registered";
    return std::nullopt;
}

std::optional<std::string> iso_timestamp(std::string_view dtm) {
    // HL7 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. Every precision is legal.
    std::string_view v = dtm;
    std::string_view zone;
    if (auto z = v.find_first_of("+-"); z != std::string_view::npos) {
        zone = v.substr(z);
        v = v.substr(0, z);
    }
    std::string_view fraction;
    if (auto dot = v.find('.'); dot != std::string_view::npos) {
        fraction = v.substr(dot);
        v = v.substr(0, dot);
    }
    auto digits = [](std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; };
    bool whole = digits(v) && (v.size() == 4 || v.size() == 6 || v.size() == 8 || v.size() == 10 || v.size() == 12 ||
                               v.size() == 14);
    bool good_fraction = fraction.empty() || (v.size() == 14 && fraction.size() <= 5 && digits(fraction.substr(1)));
    bool good_zone = zone.empty() || (zone.size() == 5 && digits(zone.substr(1)));
    if (!whole || !good_fraction || !good_zone) return std::nullopt;
    std::string out(v.substr(0, 4));
    if (v.size() >= 6) out += "-" + std::string(v.substr(4, 2));
    if (v.size() >= 8) out += "-" + std::string(v.substr(6, 2));
    if (v.size() >= 10) out += "T" + std::string(v.substr(8, 2)) + ":" + (v.size() >= 12 ? std::string(v.substr(10, 2)) : "00");
    if (v.size() >= 14) out += ":" + std::string(v.substr(12, 2)) + std::string(fraction);
    // An offset belongs to a time of day; on a bare date it says nothing.
    if (!zone.empty() && v.size() >= 10) out += std::string(zone.substr(0, 3)) + ":" + std::string(zone.substr(3, 2));
    return out;
}

}  // namespace hisgate::hl7
