// What the gateway drops, by reason: counted in hisgate_vitals_dropped_total{reason} and
// logged at most once a minute per reason (with how many were dropped since the last line),
// so a monitor that floods garbage costs one log line a minute, not one per byte.
// Thread-safe. Log fields never carry message content (it may hold a patient's name).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"

namespace hisgate::vitals {

class DropLog {
public:
    explicit DropLog(Clock& clock) : clock_(clock) {}
    // `n` records or messages dropped for `reason` ("garbage", "unknown_code", ...);
    // `fields` describe where (device, bed; never content).
    void drop(const std::string& reason, const nlohmann::json& fields, int64_t n = 1);
    int64_t total(const std::string& reason) const;

private:
    struct Entry {
        int64_t total = 0, since_logged = 0;
        Clock::SteadyTime last_logged{};
        bool logged = false;
    };
    Clock& clock_;
    mutable std::mutex mu_;
    std::map<std::string, Entry> entries_;
};

}  // namespace hisgate::vitals
