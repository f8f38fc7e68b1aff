#include "pay-sim/notifier.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include <algorithm>
#include <memory>

#include "common/log.h"
#include "common/random_id.h"
#include "common/thread_name.h"
#include "controlplane/payments/notification.h"

namespace hisgate::paysim {

Notifier::Notifier(Clock& clock, std::string merchant_key, NotifyOptions options)
    : clock_(clock), key_(std::move(merchant_key)), options_(options) {}

Notifier::~Notifier() { stop(); }

void Notifier::start() {
    int senders = std::clamp(options_.senders, 1, 64);
    for (int i = 0; i < senders; ++i) workers_.emplace_back([this, i] { run(i); });
}

void Notifier::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        ++generation_;
    }
    cv_.notify_all();
    for (auto& w : workers_)
        if (w.joinable()) w.join();
    workers_.clear();
}

void Notifier::post(Notification n, std::chrono::milliseconds delay) {
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= options_.max_pending) {
            ++stats_.dropped;
            log::warn("paysim.notification_dropped", {{"out_trade_no", n.out_trade_no}, {"pending", queue_.size()}});
            return;
        }
        ++stats_.posted;
        queue_.emplace(clock_.steady_now() + delay, Pending{std::move(n), 0});
        ++generation_;
    }
    cv_.notify_all();
}

void Notifier::count_lost() {
    std::lock_guard lock(mu_);
    ++stats_.lost;
}

Notifier::Stats Notifier::stats() const {
    std::lock_guard lock(mu_);
    Stats s = stats_;
    s.pending = queue_.size();
    return s;
}

nlohmann::json Notifier::stats_json() const {
    auto s = stats();
    return {{"posted", s.posted},       {"attempts", s.attempts}, {"delivered", s.delivered},
            {"failedAttempts", s.failed_attempts}, {"givenUp", s.given_up}, {"lost", s.lost},
            {"dropped", s.dropped},     {"pending", s.pending}};
}

// One sender's connection, kept between its attempts to the same host and port.
struct Notifier::Connection {
    std::string host;
    uint16_t port = 0;
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    bool used = false;  // it carried an answered request: the peer may have closed it since

    void reset() {
        session.reset();
        used = false;
    }
};

void Notifier::run(int sender) {
    name_this_thread("paysim-notify-" + std::to_string(sender));
    Connection connection;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        auto now = clock_.steady_now();
        if (!queue_.empty() && queue_.begin()->first <= now) {
            // Taken out of the queue: no other sender sees it until this attempt is settled.
            Pending p = std::move(queue_.begin()->second);
            queue_.erase(queue_.begin());
            ++stats_.attempts;
            lock.unlock();
            bool ok = deliver(p.n, connection);
            lock.lock();
            ++p.attempt;
            if (ok) {
                ++stats_.delivered;
                continue;
            }
            ++stats_.failed_attempts;
            if (p.attempt >= options_.max_attempts) {
                ++stats_.given_up;
                log::warn("paysim.notification_given_up", {{"out_trade_no", p.n.out_trade_no}, {"attempts", p.attempt}});
                continue;
            }
            // first_retry, doubling, capped: attempt 1 failed → first_retry, 2 → twice it, ...
            auto wait = options_.first_retry;
            for (int i = 1; i < p.attempt && wait < options_.retry_cap; ++i) wait *= 2;
            wait = std::min(wait, options_.retry_cap);
            queue_.emplace(clock_.steady_now() + wait, std::move(p));
            // The other senders may be asleep until a later time than this retry's.
            ++generation_;
            cv_.notify_all();
            continue;
        }
        auto deadline = queue_.empty() ? now + std::chrono::hours(1) : queue_.begin()->first;
        uint64_t seen = generation_;
        clock_.wait_until(lock, cv_, deadline, [&] { return stopping_ || generation_ != seen; });
    }
}

bool Notifier::deliver(const Notification& n, Connection& c) {
    // At most twice: a second time only when a kept connection turned out closed by the
    // peer before any answer came (it idled out at the receiver), on a new connection.
    for (int round = 0; round < 2; ++round) {
        bool reused = false;
        // Signed afresh for each send: a nonce is never sent twice.
        std::string timestamp =
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch()).count());
        std::string nonce = random_hex(16);
        try {
            Poco::URI uri(n.url);
            if (!c.session || c.host != uri.getHost() || c.port != uri.getPort()) {
                c.reset();
                c.host = uri.getHost();
                c.port = uri.getPort();
                c.session = std::make_unique<Poco::Net::HTTPClientSession>(c.host, c.port);
                c.session->setTimeout(Poco::Timespan(options_.timeout.count() * 1000));
                c.session->setKeepAlive(true);
                // Poco opens a new connection itself once this idle time has passed.
                c.session->setKeepAliveTimeout(Poco::Timespan(options_.keep_alive.count() * 1000));
            }
            reused = c.used;
            Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST,
                                       uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
            req.setContentType("application/json");
            req.setContentLength(static_cast<std::streamsize>(n.body.size()));
            req.set(payments::kTimestampHeader, timestamp);
            req.set(payments::kNonceHeader, nonce);
            req.set(payments::kSignatureHeader, payments::sign_notification(key_, timestamp, nonce, n.body));
            c.session->sendRequest(req) << n.body;
            Poco::Net::HTTPResponse res;
            auto& in = c.session->receiveResponse(res);
            constexpr std::streamsize kMaxAnswer = 64 * 1024;
            in.ignore(kMaxAnswer);
            // An answer longer than read leaves bytes on the connection: not kept.
            if (in.gcount() >= kMaxAnswer) c.reset();
            else c.used = true;
            int status = static_cast<int>(res.getStatus());
            if (status >= 200 && status < 300) {
                log::info("paysim.notification_delivered", {{"out_trade_no", n.out_trade_no}});
                return true;
            }
            log::warn("paysim.notification_refused", {{"out_trade_no", n.out_trade_no}, {"status", status}});
            return false;
        } catch (const Poco::Exception& e) {
            c.reset();
            // The peer closed the kept connection before any answer: once more, anew.
            const bool closed = dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr ||
                                dynamic_cast<const Poco::Net::ConnectionResetException*>(&e) != nullptr;
            if (reused && closed) continue;
            log::warn("paysim.notification_failed", {{"out_trade_no", n.out_trade_no}, {"error", e.displayText()}});
        } catch (const std::exception& e) {
            c.reset();
            log::warn("paysim.notification_failed", {{"out_trade_no", n.out_trade_no}, {"error", e.what()}});
        }
        return false;
    }
    return false;
}

}  // namespace hisgate::paysim
