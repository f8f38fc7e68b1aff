// A monitor's UDP announcement (docs/monitor-sim.md): one JSON object, at most
// kMaxAnnouncementBytes, e.g.
//   {"v": 1, "device": "MON-0001", "model": "PM-9000", "ward": "ICU", "bed": "BED-001",
//    "address": "10.40.1.17", "port": 4601}
// Bounded before it is parsed: the datagram's size, then each field's length and shape.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hisgate::vitals {

inline constexpr std::size_t kMaxAnnouncementBytes = 512;

struct Announcement {
    std::string device;   // 1-64 of [A-Za-z0-9_.-]
    std::string model;    // 1-64 printable
    std::string ward;     // 0-64 printable
    std::string bed;      // 1-64 printable
    std::string address;  // an IP address
    uint16_t port = 0;    // 1..65535
};

// Errors: BadInput "vitals.bad_announcement" saying which field (never echoing the datagram).
Result<Announcement> parse_announcement(std::string_view datagram);

}  // namespace hisgate::vitals
