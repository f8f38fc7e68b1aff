#include "common/ip_range.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace hisgate {

namespace {

// The address's family and bytes (4 or 16 of them), or false.
bool read_address(std::string_view text, bool& v6, std::array<uint8_t, 16>& bytes) {
    if (text.empty() || text.size() > 45) return false;  // INET6_ADDRSTRLEN - 1
    std::string s(text);
    bytes.fill(0);
    if (inet_pton(AF_INET, s.c_str(), bytes.data()) == 1) {
        v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), bytes.data()) == 1) {
        v6 = true;
        return true;
    }
    return false;
}

bool same_prefix(const uint8_t* a, const uint8_t* b, int bits) {
    int whole = bits / 8;
    if (std::memcmp(a, b, static_cast<size_t>(whole)) != 0) return false;
    int rest = bits % 8;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<IpRange> IpRange::parse(std::string_view text) {
    IpRange r;
    std::string_view address = text;
    std::optional<int> prefix;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        address = text.substr(0, slash);
        std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), [](char c) {
                return c >= '0' && c <= '9';
            }))
            return std::nullopt;
        prefix = std::stoi(std::string(digits));
    }
    if (!read_address(address, r.v6_, r.bytes_)) return std::nullopt;
    const int bits = r.v6_ ? 128 : 32;
    if (prefix && *prefix > bits) return std::nullopt;
    r.prefix_ = prefix.value_or(bits);
    return r;
}

bool IpRange::contains(std::string_view address) const {
    bool v6 = false;
    std::array<uint8_t, 16> bytes{};
    if (!read_address(address, v6, bytes)) return false;
    if (v6 && !v6_) {
        static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (std::memcmp(bytes.data(), kMapped, 12) != 0) return false;
        return same_prefix(bytes.data() + 12, bytes_.data(), prefix_);
    }
    if (v6 != v6_) return false;
    return same_prefix(bytes.data(), bytes_.data(), prefix_);
}

bool admitted(const std::vector<IpRange>& ranges, std::string_view address) {
    if (ranges.empty()) return true;
    return std::any_of(ranges.begin(), ranges.end(), [&](const IpRange& r) { return r.contains(address); });
}

}  // namespace hisgate
