#include "controlplane/vitals/ward_feed.h"

#include <algorithm>

#include "common/metrics.h"

namespace hisgate::controlplane::vitals {

bool FeedFilter::matches(const FeedEvent& e) const {
    if (e.hospital_id != hospital_id) return false;
    // A hospital-wide event (no bed) goes to every screen of the hospital.
    if (!bed.empty() && !e.bed.empty() && e.bed != bed) return false;
    if (!ward.empty() && !e.ward.empty() && e.ward != ward) return false;
    if (!ward.empty() && e.ward.empty() && !e.bed.empty()) return false;  // a bed of no known ward
    return true;
}

std::optional<std::vector<FeedEvent>> WardFeed::Subscription::next(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, wait, [&] { return closed || !queue.empty(); });
    if (closed) return std::nullopt;
    std::vector<FeedEvent> out(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.end()));
    queue.clear();
    return out;
}

std::shared_ptr<WardFeed::Subscription> WardFeed::subscribe(FeedFilter filter) {
    std::lock_guard lock(mu_);
    if (closed_ || subs_.size() >= max_subscribers_) return nullptr;
    std::shared_ptr<Subscription> s(new Subscription(std::move(filter)));
    subs_.push_back(s);
    return s;
}

void WardFeed::unsubscribe(const std::shared_ptr<Subscription>& s) {
    std::lock_guard lock(mu_);
    subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

void WardFeed::publish(const FeedEvent& e) {
    std::vector<std::shared_ptr<Subscription>> behind;
    {
        std::lock_guard lock(mu_);
        for (const auto& s : subs_) {
            if (!s->filter.matches(e)) continue;
            std::lock_guard sl(s->mu);
            if (s->queue.size() >= max_queued_) {
                s->closed = true;
                behind.push_back(s);
            } else {
                s->queue.push_back(e);
            }
            s->cv.notify_one();
        }
        for (const auto& s : behind) subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
    }
    if (!behind.empty())
        metrics::global()
            .counter("hisgate_vitals_feed_dropped_total", "Ward feed subscribers closed for falling behind")
            .inc(static_cast<double>(behind.size()));
}

void WardFeed::close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (const auto& s : subs_) {
        std::lock_guard sl(s->mu);
        s->closed = true;
        s->cv.notify_all();
    }
    subs_.clear();
}

std::size_t WardFeed::subscribers() const {
    std::lock_guard lock(mu_);
    return subs_.size();
}

}  // namespace hisgate::controlplane::vitals
