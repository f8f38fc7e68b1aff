#include "transport/requester.h"

#include "common/log.h"
#include "common/random_id.h"
#include "common/trace.h"

namespace hisgate {

void Requester::deliver(const IncomingMessage& msg) {
    std::shared_ptr<Slot> slot;
    {
        std::lock_guard lock(mu_);
        auto it = pending_.find(msg.correlation_data);
        if (it == pending_.end() || it->second->done) {
            log::info("request.reply_dropped", {{"topic", msg.topic}, {"reason", "late or duplicate"}});
            return;
        }
        slot = it->second;
        slot->reply = Envelope::parse(msg.payload);
        slot->done = true;
    }
    cv_.notify_all();
}

Result<Envelope> Requester::request(const std::string& topic, const std::string& response_topic, const Envelope& req,
                                    std::chrono::milliseconds timeout) {
    std::string correlation = new_id();
    auto slot = std::make_shared<Slot>();
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
    bool answered = cv_.wait_for(lock, timeout, [&] { return slot->done; });
    pending_.erase(correlation);
    if (!answered)
        return make_error(ErrorClass::Timeout, "agent.timeout",
                          "no reply from the hospital's agent within " + std::to_string(timeout.count()) + " ms");
    return std::move(*slot->reply);
}

size_t Requester::in_flight() const {
    std::lock_guard lock(mu_);
    return pending_.size();
}

}  // namespace hisgate
