#include "agent/his_gate.h"

#include <algorithm>

#include "common/check.h"
#include "common/metrics.h"

namespace hisgate::agent {

namespace {

metrics::Gauge& in_flight_gauge() {
    return metrics::global().gauge("hisgate_agent_his_in_flight", "Calls to the HIS in flight now");
}
metrics::Counter& refused(const char* why) {
    return metrics::global().counter("hisgate_agent_his_gate_refusals_total",
                                     "Calls that could not enter the HIS gate in time", {{"reason", why}});
}
}  // namespace

HisGate::HisGate(int concurrency, int rate_per_minute, Clock& clock)
    : clock_(clock),
      concurrency_(std::max(1, concurrency)),
      rate_per_minute_(std::max(1, rate_per_minute)),
      spacing_(std::chrono::nanoseconds(kWindow) / rate_per_minute_),
      burst_(std::max<int>(1, static_cast<int>(rate_per_minute_ * std::chrono::seconds(1) / kWindow))) {}

// GCRA pacing lets a second's share through at once and then one call per spacing; the
// count of calls in flight or ended within the window is the hard guarantee that the HIS
// never sees more than the cap in any window.
HisGate::TimePoint HisGate::next_start(TimePoint now) {
    while (!ends_.empty() && ends_.front() <= now - kWindow) ends_.pop_front();
    auto earliest = now;
    if (static_cast<int>(ends_.size()) + in_flight_ >= rate_per_minute_)
        // Every counted call is in flight: only a leave() can make room.
        earliest = ends_.empty() ? TimePoint::max() : ends_.front() + kWindow;
    auto tolerance = spacing_ * (burst_ - 1);
    auto paced = tat_ - tolerance;
    return std::max(earliest, paced);
}

Result<HisGate::Pass> HisGate::enter(TaskClass urgency, std::chrono::milliseconds patience) {
    std::unique_lock lock(mu_);
    auto deadline = clock_.steady_now() + patience;
    bool realtime = urgency == TaskClass::RealTime;
    if (realtime) ++realtime_waiting_;
    for (;;) {
        auto now = clock_.steady_now();
        bool place = in_flight_ < concurrency_ && (realtime || realtime_waiting_ == 0);
        auto start_at = next_start(now);
        if (closed_ || (now >= deadline && !(place && start_at <= now))) {
            if (realtime && --realtime_waiting_ == 0) changed_locked();
            const char* why = closed_ ? "closed" : !place ? "busy" : "rate";
            refused(why).inc();
            if (!place)
                return make_error(ErrorClass::Unavailable, "his.busy",
                                  "all " + std::to_string(concurrency_) + " places to the HIS stayed taken");
            return make_error(ErrorClass::Unavailable, "his.rate_capped",
                              "the HIS's cap of " + std::to_string(rate_per_minute_) + " calls per minute is reached");
        }
        if (place && start_at <= now) break;
        auto wake = place ? std::min(start_at, deadline) : deadline;
        auto seen = changes_;
        clock_.wait_until(lock, cv_, wake, [&] { return changes_ != seen; });
    }
    if (realtime && --realtime_waiting_ == 0) changed_locked();
    auto now = clock_.steady_now();
    tat_ = std::max(tat_, now) + spacing_;
    ++in_flight_;
    HISGATE_CHECK(in_flight_ <= concurrency_, "in_flight", in_flight_, "concurrency", concurrency_);
    in_flight_gauge().set(in_flight_);
    return Pass(this, now);
}

void HisGate::leave() {
    std::lock_guard lock(mu_);
    ends_.push_back(clock_.steady_now());
    --in_flight_;
    HISGATE_CHECK(in_flight_ >= 0, "in_flight", in_flight_);
    in_flight_gauge().set(in_flight_);
    changed_locked();
}

void HisGate::close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    changed_locked();
}

void HisGate::changed_locked() {
    ++changes_;
    cv_.notify_all();
}

int HisGate::in_flight() const {
    std::lock_guard lock(mu_);
    return in_flight_;
}

}  // namespace hisgate::agent
