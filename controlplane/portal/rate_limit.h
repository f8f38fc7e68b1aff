// Fixed-window rate limits on sign-in (issue 17 item 4): how many times a key (a phone
// number's digest, a client address) may do something within a window, by the injected
// clock's wall time.
//
// Shared by every control-plane instance: the windows live in the control plane's shared
// store (results_db), so behind a load balancer spreading requests over N instances a key
// still gets its limit once, not N times. The count and its check are one transaction
// (BEGIN IMMEDIATE): two instances cannot both spend the last event of a window.
//
// Invariants: at most `max_keys` keys are held (expired windows are dropped first; when
// every held key is live, a new key is refused rather than forgetting a live one, so a
// flood of addresses cannot reset the limit of the one being limited).
//
// This is the interface; SQLite implements it (open_sqlite_rate_limiter).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::controlplane::portal {

struct RateLimit {
    int max = 5;                     // events allowed in one window
    std::chrono::seconds window{60};
};

class RateLimiter {
public:
    virtual ~RateLimiter() = default;
    // Counts one event of `key` under `limit` (the key names the limit too: "code-phone:..."),
    // or, when the window is full, counts nothing and answers how long until it reopens.
    // An error when the store cannot be read or written (the caller refuses: fail closed).
    virtual Result<std::optional<std::chrono::seconds>> take(const std::string& key, const RateLimit& limit) = 0;
};

Result<std::unique_ptr<RateLimiter>> open_sqlite_rate_limiter(const std::string& path, Clock& clock,
                                                              size_t max_keys = 100000);

}  // namespace hisgate::controlplane::portal
