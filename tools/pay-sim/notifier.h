// pay-sim's asynchronous payment notifications (docs/pay-sim.md, "Notification"): each
// one POSTed to the order's notify_url, signed afresh for every attempt (a new timestamp
// and nonce; controlplane/payments/notification.h), and retried on any answer but 2xx or
// on no answer, after first_retry, doubling to retry_cap, at most max_attempts times in all;
// then given up (logged and counted), as a real provider gives up.
//
// One thread sends; time is the injected clock's (common/clock.h), so a test with a
// ManualClock moves the retries itself. Pending notifications live in memory only: a
// restart of pay-sim loses them, as a lost notification (the control plane's query and the
// bill are what recover the truth).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/clock.h"

namespace hisgate::paysim {

struct NotifyOptions {
    int max_attempts = 6;
    std::chrono::milliseconds first_retry{1000};
    std::chrono::milliseconds retry_cap{60000};
    std::chrono::milliseconds timeout{3000};  // one POST
    std::size_t max_pending = 100'000;
};

struct Notification {
    std::string out_trade_no;  // for the log and the counts; not sent apart from the body
    std::string url;
    std::string body;
};

class Notifier {
public:
    Notifier(Clock& clock, std::string merchant_key, NotifyOptions options);
    ~Notifier();  // stop()
    void start();
    // Stops after the attempt being made; what is pending is dropped.
    void stop();

    // Sends `n` after `delay` (0: at once).
    void post(Notification n, std::chrono::milliseconds delay = std::chrono::milliseconds(0));
    // A notification a fault lost: only counted.
    void count_lost();

    struct Stats {
        uint64_t posted = 0, attempts = 0, delivered = 0, failed_attempts = 0, given_up = 0, lost = 0, dropped = 0;
        std::size_t pending = 0;
    };
    Stats stats() const;
    nlohmann::json stats_json() const;

private:
    struct Pending {
        Notification n;
        int attempt = 0;  // attempts made so far
    };
    void run();
    bool deliver(const Notification& n);  // true on 2xx

    Clock& clock_;
    std::string key_;
    NotifyOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::multimap<Clock::SteadyTime, Pending> queue_;  // by when due; equal times keep their order
    uint64_t generation_ = 0;                          // bumped on every post, so the worker looks again
    bool stopping_ = false;
    Stats stats_;
    std::thread worker_;
};

}  // namespace hisgate::paysim
