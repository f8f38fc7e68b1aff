// What load the simulated HIS is under, counted by the HIS itself: the requests it is
// handling now, the most it ever handled at once, and the most it started within any
// 60 s. Benchmarks read it (GET /load on the control port) to check, from the hospital's
// side, that an agent never passed the HIS's caps (his.concurrency, his.rate_per_minute).
//
// Invariant: max_started_in_60s is the largest number of starts in any half-open window
// (t - 60 s, t], which is the same window the agent's gate counts.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

namespace hisgate::sim {

class LoadMeter {
public:
    using Clock = std::chrono::steady_clock;

    // One request, from when the HIS starts handling it until its answer is ready.
    class Request {
    public:
        explicit Request(LoadMeter& meter) : meter_(meter) { meter_.started(); }
        ~Request() { meter_.ended(); }
        Request(const Request&) = delete;
        Request& operator=(const Request&) = delete;

    private:
        LoadMeter& meter_;
    };

    // {"inFlight", "maxInFlight", "started", "maxStartedIn60s", "startedInLast60s"}
    nlohmann::json to_json();

private:
    void started();
    void ended();
    void forget_before(Clock::time_point now);

    std::mutex mu_;
    int in_flight_ = 0;
    int max_in_flight_ = 0;
    int64_t started_ = 0;
    size_t max_in_60s_ = 0;
    std::deque<Clock::time_point> recent_starts_;  // starts within the last 60 s
};

}  // namespace hisgate::sim
