// An IP address or CIDR block ("10.1.2.3", "10.1.0.0/16", "fd00::/8", "::1"): which peers
// a listener takes (extraction.push.allowed_peers). Parsed with inet_pton, no regex; an
// IPv4 range also holds the IPv4-mapped IPv6 form of its addresses ("::ffff:10.1.2.3").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hisgate {

class IpRange {
public:
    // nullopt when `text` is not an address, or an address "/" a prefix length within the
    // family's bits (0..32, 0..128); host bits below the prefix are ignored.
    static std::optional<IpRange> parse(std::string_view text);

    bool contains(std::string_view address) const;  // false for text that is not an address

private:
    bool v6_ = false;
    std::array<uint8_t, 16> bytes_{};
    int prefix_ = 0;
};

// Whether `address` is in any of `ranges`; an empty list admits every address.
bool admitted(const std::vector<IpRange>& ranges, std::string_view address);

}  // namespace hisgate
