#include "agent/vitals/announcement.h"

#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/ip_range.h"

namespace hisgate::vitals {

namespace {
Error bad(const std::string& what) { return make_error(ErrorClass::BadInput, "vitals.bad_announcement", what); }

bool printable(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

bool device_id(const std::string& s) {
    if (s.empty() || s.size() > 64) return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || c == '_' || c == '.' || c == '-')) return false;
    return true;
}
}  // namespace

Result<Announcement> parse_announcement(std::string_view datagram) {
    if (datagram.size() > kMaxAnnouncementBytes)
        return bad("announcement of " + std::to_string(datagram.size()) + " bytes (at most " +
                   std::to_string(kMaxAnnouncementBytes) + ")");
    auto doc = parse_bounded_json(datagram, JsonBounds{"an announcement", kMaxAnnouncementBytes, "vitals.announcement"});
    if (!doc) return bad("not JSON");
    const auto& j = doc.value();
    if (!j.is_object()) return bad("not a JSON object");
    if (!j.contains("v") || !j["v"].is_number_integer() || j["v"].get<int64_t>() != 1) return bad("v: expected 1");
    auto text = [&](const char* name, std::size_t min, std::string& out) -> bool {
        if (!j.contains(name) || !j[name].is_string()) return false;
        out = j[name].get<std::string>();
        return out.size() >= min && out.size() <= 64 && printable(out);
    };
    Announcement a;
    if (!text("device", 1, a.device) || !device_id(a.device)) return bad("device: expected 1-64 of [A-Za-z0-9_.-]");
    if (!text("model", 1, a.model)) return bad("model: expected 1-64 printable characters");
    if (j.contains("ward") && !text("ward", 0, a.ward)) return bad("ward: expected at most 64 printable characters");
    if (!text("bed", 1, a.bed)) return bad("bed: expected 1-64 printable characters");
    if (!text("address", 1, a.address) || !IpRange::parse(a.address) || a.address.find('/') != std::string::npos)
        return bad("address: expected an IP address");
    if (!j.contains("port") || !j["port"].is_number_integer()) return bad("port: expected an integer");
    auto port = j["port"].get<int64_t>();
    if (port < 1 || port > 65535) return bad("port: expected 1..65535");
    a.port = static_cast<uint16_t>(port);
    return a;
}

}  // namespace hisgate::vitals
