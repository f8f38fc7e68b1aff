#include "monitor-sim/monitor_faults.h"

#include <map>

namespace hisgate::monitor_sim {

namespace {
Error invalid(const std::string& what) { return make_error(ErrorClass::BadInput, "faults.invalid", what); }

// An optional integer field within [lo, hi].
Result<int64_t> integer(const nlohmann::json& j, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
    if (!j.contains(name)) return fallback;
    const auto& v = j.at(name);
    if (!v.is_number_integer()) return invalid(std::string(name) + ": expected an integer");
    auto n = v.get<int64_t>();
    if (n < lo || n > hi) return invalid(std::string(name) + ": expected " + std::to_string(lo) + ".." + std::to_string(hi));
    return n;
}
}  // namespace

Result<FaultCommand> FaultCommand::from_json(const nlohmann::json& j) {
    using K = FaultCommand::Kind;
    static const std::map<std::string, K> kKinds = {
        {"disconnect", K::Disconnect}, {"stall", K::Stall}, {"garbage", K::Garbage}, {"endless_frame", K::EndlessFrame},
        {"duplicate", K::Duplicate}, {"out_of_order", K::OutOfOrder}, {"clock_skew", K::ClockSkew},
        {"reboot", K::Reboot}, {"unknown_code", K::UnknownCode}, {"non_numeric", K::NonNumeric}, {"alarm", K::Alarm},
        {"flood", K::Flood}};
    if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) return invalid("kind: expected a string");
    auto it = kKinds.find(j["kind"].get<std::string>());
    if (it == kKinds.end()) return invalid("kind: unknown fault \"" + j["kind"].get<std::string>() + "\"");
    FaultCommand f;
    f.kind = it->second;
    Result<int64_t> amount = int64_t{0};
    switch (f.kind) {
        case K::Garbage: amount = integer(j, "bytes", 256, 1, 1 << 20); break;
        case K::ClockSkew: amount = integer(j, "seconds", 0, -86400 * 365, 86400 * 365); break;
        case K::Reboot: amount = integer(j, "down_ms", 1000, 0, 600000); break;
        case K::Flood: amount = integer(j, "messages", 500, 1, 1000000); break;
        default: break;
    }
    if (!amount) return amount.error();
    f.amount = amount.value();
    if (f.kind == K::Alarm) {
        std::string p = j.value("priority", std::string("M"));
        if (p != "H" && p != "M" && p != "L") return invalid("priority: expected H, M or L");
        f.priority = p[0];
        if (j.contains("technical") && !j["technical"].is_boolean()) return invalid("technical: expected a boolean");
        f.technical = j.value("technical", false);
    }
    return f;
}

}  // namespace hisgate::monitor_sim
