// The door every call to the HIS passes through, so the agent never sends the hospital
// more than it allows: at most `concurrency` calls at once and at most `rate_per_minute`
// calls in any 60 s window (paced, not in bursts: one second's share at a time).
//
// The window is counted as the HIS sees it: a call occupies the window from when it
// starts until 60 s after it ended, because the HIS receives it some time after the
// gate let it through. (Counting starts alone let a HIS count 3,003 calls in a minute
// capped at 3,000; bench/his-burst.)
//
// Real-time callers go first: while one waits, no deferred caller takes a free place.
//
// Time is the given Clock's: tests step a ManualClock through the window.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>

#include "agent/task.h"
#include "common/clock.h"
#include "common/error.h"

namespace hisgate::agent {

class HisGate {
public:
    using TimePoint = Clock::SteadyTime;
    static constexpr std::chrono::seconds kWindow{60};

    HisGate(int concurrency, int rate_per_minute, Clock& clock = SystemClock::instance());

    // Holds one place until destroyed.
    class Pass {
    public:
        Pass(HisGate* gate, TimePoint started_at) : gate_(gate), started_at_(started_at) {}
        Pass(Pass&& o) noexcept : gate_(o.gate_), started_at_(o.started_at_) { o.gate_ = nullptr; }
        Pass& operator=(Pass&&) = delete;
        ~Pass() {
            if (gate_) gate_->leave();
        }
        // When the gate let the call start: what the rate cap counts.
        TimePoint started_at() const { return started_at_; }

    private:
        HisGate* gate_;
        TimePoint started_at_;
    };

    // Waits for a place and the rate's permission, at most `patience`; Unavailable
    // ("his.rate_capped" or "his.busy") if it does not come in time.
    Result<Pass> enter(TaskClass urgency, std::chrono::milliseconds patience);
    // Wakes every waiter, which then gives up: for shutdown.
    void close();

    int in_flight() const;
    int concurrency() const { return concurrency_; }
    int rate_per_minute() const { return rate_per_minute_; }

private:
    void leave();
    // When the next call may start under the rate cap (now if it may start now).
    TimePoint next_start(TimePoint now);
    // Something a waiter may be waiting for happened (a place freed, the gate closed, the
    // last real-time waiter left): wake every waiter to look again.
    void changed_locked();

    Clock& clock_;
    const int concurrency_;
    const int rate_per_minute_;  // per window
    const std::chrono::nanoseconds spacing_;  // window / rate
    const int burst_;                         // one second's share, at least 1

    mutable std::mutex mu_;
    std::condition_variable cv_;
    int in_flight_ = 0;
    int realtime_waiting_ = 0;
    bool closed_ = false;
    uint64_t changes_ = 0;         // counts changed_locked(): what a waiter waits for
    TimePoint tat_{};              // theoretical arrival time (GCRA)
    std::deque<TimePoint> ends_;   // calls that ended within the last window
};

}  // namespace hisgate::agent
