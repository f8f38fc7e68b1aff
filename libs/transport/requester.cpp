#include "transport/requester.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/random_id.h"

namespace hisgate {

namespace {
void refuse(const IncomingMessage& msg, const char* reason) {
    log::warn("request.reply_refused", {{"topic", msg.topic}, {"reason", reason}});
    metrics::global()
        .counter("hisgate_rejected_messages_total", "Messages rejected as malformed or misaddressed",
                 {{"kind", "reply"}})
        .inc();
}
}  // namespace

void Requester::deliver(const IncomingMessage& msg) { deliver(msg, Envelope::parse(msg.payload)); }

void Requester::deliver(const IncomingMessage& msg, Envelope reply) { deliver(msg, Result<Envelope>(std::move(reply))); }

// Parsed outside the lock every caller waiting for a reply takes.
void Requester::deliver(const IncomingMessage& msg, Result<Envelope> reply) {
    std::shared_ptr<Slot> answered;
    {
        std::lock_guard lock(mu_);
        auto it = pending_.find(msg.correlation_data);
        if (it == pending_.end() || it->second->done) {
            log::info("request.reply_dropped", {{"topic", msg.topic}, {"reason", "late or duplicate"}});
            return;
        }
        Slot& slot = *it->second;
        if (msg.topic != slot.response_topic) return refuse(msg, "not on the response topic the request named");
        if (reply && reply->in_reply_to != slot.request_id) return refuse(msg, "in_reply_to is not the request id");
        // An unreadable reply from the right hospital ends the request with its parse error.
        slot.reply = std::move(reply);
        slot.done = true;
        answered = it->second;  // kept alive until notified: its caller may be gone by then
    }
    answered->cv.notify_one();
}

Result<Envelope> Requester::request(const std::string& topic, const std::string& response_topic, const Envelope& req,
                                    std::chrono::milliseconds timeout) {
    std::string correlation = new_id();
    auto slot = std::make_shared<Slot>();
    slot->response_topic = response_topic;
    slot->request_id = req.id;
    {
        std::lock_guard lock(mu_);
        pending_[correlation] = slot;
    }
    OutgoingMessage out;
    out.topic = topic;
    out.payload = req.to_json();
    out.response_topic = response_topic;
    out.correlation_data = correlation;
    out.expiry_seconds = static_cast<uint32_t>((timeout.count() + 999) / 1000);

    auto forget = [&] {
        std::lock_guard lock(mu_);
        pending_.erase(correlation);
    };
    if (auto sent = link_.publish(out); !sent) {
        forget();
        return sent.error();
    }
    std::unique_lock lock(mu_);
    bool answered = slot->cv.wait_for(lock, timeout, [&] { return slot->done; });
    pending_.erase(correlation);
    if (!answered)
        return make_error(ErrorClass::Timeout, "agent.timeout",
                          "no reply from the hospital's agent within " + std::to_string(timeout.count()) + " ms");
    return std::move(*slot->reply);
}

Result<void> Requester::send_again(const std::string& topic, const std::string& response_topic, const Envelope& req,
                                   std::chrono::milliseconds expiry) {
    OutgoingMessage out;
    out.topic = topic;
    out.payload = req.to_json();
    out.response_topic = response_topic;
    out.correlation_data = new_id();
    out.expiry_seconds = static_cast<uint32_t>((expiry.count() + 999) / 1000);
    return link_.publish(out);
}

size_t Requester::in_flight() const {
    std::lock_guard lock(mu_);
    return pending_.size();
}

}  // namespace hisgate
