// pay-sim's asynchronous payment notifications (docs/pay-sim.md, "Notification"): each
// one POSTed to the order's notify_url, signed afresh for every attempt (a new timestamp
// and nonce; controlplane/payments/notification.h), and retried on any answer but 2xx or
// on no answer, after first_retry, doubling to retry_cap, at most max_attempts times in all;
// then given up (logged and counted), as a real provider gives up.
//
// `senders` threads send at once (a real provider notifies in parallel; one sender made
// every notification wait behind the one before, docs/benchmarks.md "Flows per second"),
// each over a connection it keeps between attempts while it stays idle less than
// `keep_alive`. Notifications are independent: with several senders they may arrive in
// any order, as a real provider's do, and the receiver must not depend on their order.
//
// Invariants: each pending notification is held by at most one sender at a time, so an
// attempt is made only after the one before it has failed (never two at once for one
// notification); a sender that finds its kept connection closed by the peer before any
// answer sends the same attempt once more on a new connection (the receiver is idempotent:
// duplicates happen anyway); the counts are those of attempts, as with one sender.
//
// Time is the injected clock's (common/clock.h), so a test with a ManualClock moves the
// retries itself. Pending notifications live in memory only: a restart of pay-sim loses
// them, as a lost notification (the control plane's query and the bill are what recover
// the truth).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace hisgate::paysim {

struct NotifyOptions {
    int max_attempts = 6;
    std::chrono::milliseconds first_retry{1000};
    std::chrono::milliseconds retry_cap{60000};
    std::chrono::milliseconds timeout{3000};  // one POST
    std::size_t max_pending = 100'000;
    int senders = 4;                           // threads sending at once (1-64)
    std::chrono::milliseconds keep_alive{4000};  // a kept connection idle longer is opened anew
                                               // (under the control plane's 5 s keep_alive_timeout)
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
    struct Connection;  // one sender's kept connection
    void run(int sender);
    bool deliver(const Notification& n, Connection& c);  // true on 2xx

    Clock& clock_;
    std::string key_;
    NotifyOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::multimap<Clock::SteadyTime, Pending> queue_;  // by when due; equal times keep their order
    uint64_t generation_ = 0;                          // bumped on every post, so the worker looks again
    bool stopping_ = false;
    Stats stats_;
    std::vector<std::thread> workers_;
};

}  // namespace hisgate::paysim
