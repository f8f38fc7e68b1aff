#include "common/clock.h"

#include <thread>

#include "common/check.h"

namespace hisgate {

int64_t Clock::wall_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(wall_now().time_since_epoch()).count();
}

void Clock::sleep_for(std::chrono::nanoseconds d) {
    std::mutex mu;
    std::condition_variable cv;
    std::unique_lock lock(mu);
    wait_for(lock, cv, d, [] { return false; });
}

SystemClock& SystemClock::instance() {
    static SystemClock clock;
    return clock;
}

bool SystemClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                             const std::function<bool()>& done) {
    return cv.wait_until(lock, deadline, done);
}

ManualClock::ManualClock(WallTime start) : wall_(start) {}

Clock::SteadyTime ManualClock::steady_now() const {
    std::lock_guard lock(mu_);
    return steady_now_locked();
}

Clock::SteadyTime ManualClock::steady_now_locked() const {
    // An epoch of its own, far from zero, so code that subtracts durations stays positive.
    return SteadyTime{std::chrono::hours(24 * 365)} + steady_since_start_;
}

Clock::WallTime ManualClock::wall_now() const {
    std::lock_guard lock(mu_);
    return wall_;
}

bool ManualClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                             const std::function<bool()>& done) {
    std::multiset<SteadyTime>::iterator mine;
    {
        std::lock_guard l(mu_);
        mine = deadlines_.insert(deadline);
    }
    bool result = false;
    for (;;) {
        if (done()) {
            result = true;
            break;
        }
        if (steady_now() >= deadline) break;
        // The caller's notify wakes this at once; a step of the clock within a millisecond.
        cv.wait_for(lock, std::chrono::milliseconds(1));
    }
    std::lock_guard l(mu_);
    deadlines_.erase(mine);
    return result;
}

void ManualClock::advance(std::chrono::nanoseconds d) {
    HISGATE_CHECK(d.count() >= 0, "advance_ns", d.count());
    std::lock_guard lock(mu_);
    steady_since_start_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

void ManualClock::set_wall(WallTime t) {
    std::lock_guard lock(mu_);
    wall_ = t;
}

int ManualClock::waiters() const {
    std::lock_guard lock(mu_);
    auto now = steady_now_locked();
    return static_cast<int>(std::distance(deadlines_.upper_bound(now), deadlines_.end()));
}

bool ManualClock::await_waiters(int n, std::chrono::milliseconds real_patience) const {
    auto give_up = std::chrono::steady_clock::now() + real_patience;
    while (waiters() < n) {
        if (std::chrono::steady_clock::now() >= give_up) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

}  // namespace hisgate
