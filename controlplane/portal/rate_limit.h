// Fixed-window rate limits on sign-in (issue 17 item 4): how many times a key (a phone
// number's digest, a client address) may do something within a window, by the injected
// steady clock. In memory, per control-plane instance: behind a load balancer spreading
// requests over N instances a key gets up to N times its share (a shared store would
// close that; not built).
//
// Invariants: at most `max_keys` keys are held (expired windows are dropped first; when
// every held key is live, a new key is refused rather than forgetting a live one, so a
// flood of addresses cannot reset the limit of the one being limited).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"

namespace hisgate::controlplane::portal {

struct RateLimit {
    int max = 5;                     // events allowed in one window
    std::chrono::seconds window{60};
};

class RateLimiter {
public:
    RateLimiter(Clock& clock, size_t max_keys = 100000) : clock_(clock), max_keys_(max_keys) {}

    // Counts one event of `key` under `limit` (the key names the limit too: "code-phone:..."),
    // or, when the window is full, counts nothing and answers how long until it reopens.
    std::optional<std::chrono::seconds> take(const std::string& key, const RateLimit& limit);

private:
    struct Window {
        Clock::SteadyTime started;
        std::chrono::seconds length;
        int count = 0;
    };
    Clock& clock_;
    size_t max_keys_;
    std::mutex mu_;
    std::map<std::string, Window> windows_;
};

}  // namespace hisgate::controlplane::portal
