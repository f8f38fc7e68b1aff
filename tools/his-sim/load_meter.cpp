#include "his-sim/load_meter.h"

#include <algorithm>

namespace hisgate::sim {

namespace {
constexpr auto kWindow = std::chrono::seconds(60);
}

void LoadMeter::forget_before(Clock::time_point now) {
    while (!recent_starts_.empty() && recent_starts_.front() <= now - kWindow) recent_starts_.pop_front();
}

void LoadMeter::started() {
    auto now = Clock::now();
    std::lock_guard lock(mu_);
    ++started_;
    max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    forget_before(now);
    recent_starts_.push_back(now);
    // A window holding the most starts can always be taken to end at a start.
    max_in_60s_ = std::max(max_in_60s_, recent_starts_.size());
}

void LoadMeter::ended() {
    std::lock_guard lock(mu_);
    --in_flight_;
}

nlohmann::json LoadMeter::to_json() {
    std::lock_guard lock(mu_);
    forget_before(Clock::now());
    return {{"inFlight", in_flight_},
            {"maxInFlight", max_in_flight_},
            {"started", started_},
            {"maxStartedIn60s", max_in_60s_},
            {"startedInLast60s", recent_starts_.size()}};
}

}  // namespace hisgate::sim
