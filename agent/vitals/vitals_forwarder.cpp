#include "agent/vitals/vitals_forwarder.h"

#include "common/log.h"
#include "common/metrics.h"
#include "transport/envelope.h"
#include "transport/topics.h"

namespace hisgate::vitals {

namespace {
metrics::Counter& batches(const char* outcome) {
    return metrics::global().counter("hisgate_vitals_batches_total", "Vitals batches published upstream, by outcome",
                                     {{"outcome", outcome}});
}

nlohmann::json to_json(const StoredRecord& s) {
    const auto& r = s.record;
    nlohmann::json j = {{"seq", s.seq}, {"device", r.device}, {"bed", r.bed}, {"observedAt", r.observed_ms},
                        {"receivedAt", r.received_ms}};
    if (r.kind == VitalRecord::Kind::Alarm) {
        j["kind"] = "alarm";
        j["code"] = r.name;
        j["text"] = r.text;
        j["priority"] = priority_text(r.priority);
        j["technical"] = r.technical;
    } else {
        j["kind"] = "sample";
        j["name"] = r.name;
        j["unit"] = r.unit;
        j["value"] = r.value;
    }
    return j;
}
}  // namespace

void VitalsForwarder::start() { thread_ = std::thread([this] { loop(); }); }

void VitalsForwarder::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void VitalsForwarder::wake() {
    {
        std::lock_guard lock(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

uint64_t VitalsForwarder::batches_sent() const {
    std::lock_guard lock(mu_);
    return batches_;
}

void VitalsForwarder::loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        // Woken by new records; otherwise looks again every second (the link may be back).
        clock_.wait_for(lock, cv_, std::chrono::seconds(1), [this] { return stopping_ || woken_; });
        woken_ = false;
        if (stopping_) return;
        lock.unlock();
        if (link_.connected()) {
            forward_waiting();
            if (clock_.steady_now() - last_monitors_ >= kMonitorsInterval) publish_monitors();
        }
        lock.lock();
    }
}

void VitalsForwarder::publish_monitors() {
    last_monitors_ = clock_.steady_now();
    auto msg = OutgoingMessage::to(topics::vitals(hospital_id_),
                                   Envelope::make("vitals.monitors", hospital_id_, monitors_()).to_json());
    if (auto sent = link_.publish(msg); !sent) log::debug("vitals.monitors_failed", {{"error", sent.error().describe()}});
}

bool VitalsForwarder::forward_waiting() {
    while (true) {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return true;
        }
        auto rows = store_.waiting(batch_max_);
        if (!rows) {
            log::error("vitals.forward_read_failed", {{"error", rows.error().describe()}});
            return false;
        }
        auto figures = store_.figures();
        if (rows->empty() && figures.thinned_unreported == 0) return true;
        nlohmann::json records = nlohmann::json::array();
        for (const auto& r : rows.value()) records.push_back(to_json(r));
        int64_t last_seq = rows->empty() ? 0 : rows->back().seq;
        nlohmann::json body = {{"records", records},
                               {"firstSeq", rows->empty() ? 0 : rows->front().seq},
                               {"lastSeq", last_seq},
                               {"thinnedSinceLast", figures.thinned_unreported},
                               {"thinnedTotal", figures.thinned_total},
                               {"waiting", figures.waiting}};
        auto msg = OutgoingMessage::to(topics::vitals(hospital_id_),
                                       Envelope::make("vitals.batch", hospital_id_, std::move(body)).to_json());
        if (auto sent = link_.publish(msg); !sent) {
            batches("failed").inc();
            log::warn("vitals.forward_failed", {{"error", sent.error().describe()}, {"waiting", figures.waiting}});
            return false;
        }
        batches("sent").inc();
        if (auto marked = store_.forwarded_through(last_seq, figures.thinned_unreported); !marked) {
            log::error("vitals.forward_mark_failed", {{"error", marked.error().describe()}});
            return false;
        }
        {
            std::lock_guard lock(mu_);
            ++batches_;
        }
        if (rows->size() < static_cast<std::size_t>(batch_max_)) return true;
    }
}

}  // namespace hisgate::vitals
