#include "agent/outbox_forwarder.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

namespace hisgate::agent {

namespace {
metrics::Counter& forwarded() {
    return metrics::global().counter("hisgate_agent_outbox_forwarded_total", "Outbox messages the broker acknowledged");
}
metrics::Gauge& waiting() {
    return metrics::global().gauge("hisgate_agent_outbox_waiting", "Outbox messages not yet acknowledged by the broker");
}
constexpr int kBatch = 256;
}  // namespace

void OutboxForwarder::start() { thread_ = std::thread([this] { loop(); }); }

void OutboxForwarder::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void OutboxForwarder::wake() {
    {
        std::lock_guard lock(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

void OutboxForwarder::loop() {
    name_this_thread("outbox-forward");
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || woken_; });
            if (stopping_) return;
            woken_ = false;
        }
        if (link_.connected()) forward_waiting();
        if (auto n = store_.outbox_size()) waiting().set(static_cast<double>(n.value()));
    }
}

namespace {
bool has_wildcard(const std::string& topic) { return topic.find_first_of("+#") != std::string::npos || topic.empty(); }
}  // namespace

bool OutboxForwarder::forward_waiting() {
    for (;;) {
        auto rows = store_.outbox_after(sent_through_, kBatch);
        if (!rows) {
            log::error("outbox.read_failed", {{"error", rows.error().describe()}});
            return false;
        }
        if (rows->empty()) return true;
        int64_t last = sent_through_;
        for (const auto& row : rows.value()) {
            OutgoingMessage out = OutgoingMessage::to(row.message.topic, row.message.payload);
            out.correlation_data = row.message.correlation;
            out.traceparent = row.message.traceparent;
            // A topic with a wildcard makes the broker drop the connection, so the row would
            // be retried at the head for ever: such a row (stored before admission checked
            // topics) is never sent, and set aside loudly like a refused one.
            auto sent = has_wildcard(out.topic)
                            ? Result<void>(make_error(ErrorClass::Rejected, "outbox.bad_topic",
                                                      "the topic holds an MQTT wildcard; not sent"))
                            : link_.publish(out);
            if (!sent && sent.error().cls != ErrorClass::Rejected) {
                log::warn("outbox.send_failed", {{"seq", row.seq}, {"error", sent.error().describe()}});
                break;  // the link is down: keep this row and everything after it
            }
            // A message the broker refuses will be refused for ever: drop it, loudly.
            if (!sent) log::error("outbox.refused", {{"seq", row.seq}, {"error", sent.error().describe()}});
            last = row.seq;
            forwarded().inc();
        }
        if (last == sent_through_) return false;
        sent_through_ = last;
        store_.forwarded_through(last, [](Result<void> r) {
            if (!r) log::error("outbox.trim_failed", {{"error", r.error().describe()}});
        });
        if (static_cast<int>(rows->size()) < kBatch || !link_.connected()) return link_.connected();
    }
}

}  // namespace hisgate::agent
