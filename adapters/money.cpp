#include "adapters/money.h"

#include <cstdio>

namespace hisgate {

std::string cents_to_decimal(int64_t cents) {
    uint64_t abs = cents < 0 ? static_cast<uint64_t>(-(cents + 1)) + 1 : static_cast<uint64_t>(cents);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%llu.%02llu", cents < 0 ? "-" : "", static_cast<unsigned long long>(abs / 100),
                  static_cast<unsigned long long>(abs % 100));
    return buf;
}

std::optional<int64_t> decimal_to_cents(std::string_view t) {
    bool negative = !t.empty() && t.front() == '-';
    if (negative) t.remove_prefix(1);
    auto dot = t.find('.');
    std::string_view whole = t.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? std::string_view() : t.substr(dot + 1);
    if (whole.empty() || whole.size() > 15 || frac.size() > 2) return std::nullopt;
    if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
    int64_t value = 0;
    for (char c : whole) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    int64_t cents = 0;
    for (size_t i = 0; i < 2; ++i) {
        char c = i < frac.size() ? frac[i] : '0';
        if (c < '0' || c > '9') return std::nullopt;
        cents = cents * 10 + (c - '0');
    }
    int64_t total = value * 100 + cents;
    return negative ? -total : total;
}

}  // namespace hisgate
