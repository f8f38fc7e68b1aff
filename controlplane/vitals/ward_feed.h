// The live feed of a ward (issue 18 item 4): what the ward screen listens to, as
// Server-Sent Events. The vitals intake publishes each stored batch (per bed), each new
// alarm and every change of an alarm or a monitor; each subscriber gets the events of
// its hospital, narrowed to a ward or a bed if it asked.
//
// A subscriber's queue is bounded: one that falls `max_queued` events behind (a stalled
// screen, a slow link) is closed, and its screen reconnects and reloads the beds. The
// publisher never waits on a subscriber. At most `max_subscribers` at once, each holding
// one of the HTTP server's threads; one more is refused (the API answers 503).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hisgate::controlplane::vitals {

struct FeedEvent {
    std::string hospital_id, ward, bed;  // ward/bed "" for a hospital-wide event
    std::string type;                    // SSE event name: vitals, alarm, monitor
    std::string data;                    // one line of JSON
};

struct FeedFilter {
    std::string hospital_id;
    std::string ward, bed;  // "" = any
    bool matches(const FeedEvent& e) const;
};

class WardFeed {
public:
    class Subscription {
    public:
        // Waits up to `wait` for events; answers what came (possibly none), or nullopt
        // once the subscription is closed (the feed stops, or the subscriber fell behind).
        std::optional<std::vector<FeedEvent>> next(std::chrono::milliseconds wait);

    private:
        friend class WardFeed;
        explicit Subscription(FeedFilter f) : filter(std::move(f)) {}
        FeedFilter filter;
        std::mutex mu;
        std::condition_variable cv;
        std::deque<FeedEvent> queue;
        bool closed = false;
    };

    explicit WardFeed(std::size_t max_subscribers = 64, std::size_t max_queued = 10000)
        : max_subscribers_(max_subscribers), max_queued_(max_queued) {}
    ~WardFeed() { close(); }

    // nullptr when `max_subscribers` are listening already.
    std::shared_ptr<Subscription> subscribe(FeedFilter filter);
    void unsubscribe(const std::shared_ptr<Subscription>& s);
    void publish(const FeedEvent& e);
    void close();  // ends every subscription; subscribe() answers nullptr from then on
    std::size_t subscribers() const;

private:
    std::size_t max_subscribers_, max_queued_;
    mutable std::mutex mu_;
    std::vector<std::shared_ptr<Subscription>> subs_;
    bool closed_ = false;
};

}  // namespace hisgate::controlplane::vitals
