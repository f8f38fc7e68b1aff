// Time, injected. Code that reads the time, waits or schedules takes a Clock, so tests
// step time instead of sleeping and a test of an ordering fails when the ordering does not
// happen.
//
// Two readings: steady (monotonic, for intervals, deadlines and rate windows) and wall
// (UTC, for what is stored or shown). Waiting is the clock's too: a component waits on its
// own condition variable through Clock::wait_until, which a ManualClock ends when a test
// advances time past the deadline.
//
// Invariants: steady time never goes back; a ManualClock moves only when a test moves it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>

namespace hisgate {

class Clock {
public:
    using SteadyTime = std::chrono::steady_clock::time_point;
    using WallTime = std::chrono::system_clock::time_point;

    virtual ~Clock() = default;
    virtual SteadyTime steady_now() const = 0;
    virtual WallTime wall_now() const = 0;
    int64_t wall_ms() const;  // milliseconds since the Unix epoch

    // Waits on `cv` (whose mutex `lock` holds) until `done()` or until steady time reaches
    // `deadline`; returns done(). Whoever makes done() true notifies `cv` as usual.
    virtual bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                            const std::function<bool()>& done) = 0;
    bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, std::chrono::nanoseconds patience,
                  const std::function<bool()>& done) {
        return wait_until(lock, cv, steady_now() + patience, done);
    }
    // Sleeps for `d` of this clock's time.
    void sleep_for(std::chrono::nanoseconds d);
};

// The machine's clocks. One instance serves the whole process.
class SystemClock final : public Clock {
public:
    static SystemClock& instance();
    SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
    WallTime wall_now() const override { return std::chrono::system_clock::now(); }
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                    const std::function<bool()>& done) override;
};

// A clock that tests move. Waiters whose deadline the clock passes wake within a
// millisecond of real time (they re-check each millisecond while waiting), so a test
// advances time and then waits for the effect without any sleep of its own.
class ManualClock final : public Clock {
public:
    // Starts at the given wall time (default 2026-01-05 00:00 UTC, a Monday).
    explicit ManualClock(WallTime start = WallTime{std::chrono::sys_days{std::chrono::year{2026} / 1 / 5}});

    SteadyTime steady_now() const override;
    WallTime wall_now() const override;
    bool wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, SteadyTime deadline,
                    const std::function<bool()>& done) override;

    void advance(std::chrono::nanoseconds d);
    // Sets the wall clock alone (a clock step, as NTP may make); steady time is unchanged.
    void set_wall(WallTime t);
    // How many threads wait inside wait_until for a time still ahead of the clock: a test
    // waits for a component to be waiting before it moves time, so the step lands where the
    // test says. A waiter whose deadline a step passed is not counted until it waits again,
    // so after a step a test waits for the component to have seen it, not for the old wait.
    int waiters() const;
    // Blocks (in real time, at most `real_patience`) until at least `n` threads wait.
    bool await_waiters(int n, std::chrono::milliseconds real_patience = std::chrono::seconds(10)) const;

private:
    SteadyTime steady_now_locked() const;

    mutable std::mutex mu_;
    std::chrono::nanoseconds steady_since_start_{0};
    WallTime wall_;
    std::multiset<SteadyTime> deadlines_;  // one per thread inside wait_until
};

}  // namespace hisgate
