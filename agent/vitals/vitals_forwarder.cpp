#include "agent/vitals/vitals_forwarder.h"

#include "common/log.h"
#include "common/metrics.h"
#include "transport/envelope.h"
#include "transport/topics.h"
#include "transport/vitals_limits.h"

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

// What the records of one batch may take of the message: the envelope's fields and the
// body's counters get the rest (well under a kilobyte; 16 KiB kept for them).
constexpr std::size_t kRecordsBytes = limits::kVitalsMessageBytes - 16 * 1024;

// One record's size in the message, as Envelope::to_json writes it.
std::size_t dumped_size(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size() + 1;  // and its comma
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

bool VitalsForwarder::settle_marks(bool wait_oldest) {
    bool ok = true;
    while (!unmarked_.empty()) {
        auto& oldest = unmarked_.front();
        if (!wait_oldest && oldest.marked.wait_for(std::chrono::seconds(0)) != std::future_status::ready) break;
        wait_oldest = false;
        if (const auto& marked = oldest.marked.get(); !marked) {
            log::error("vitals.forward_mark_failed", {{"error", marked.error().describe()}, {"through", oldest.last_seq}});
            ok = false;
        }
        unmarked_.pop_front();
    }
    return ok;
}

void VitalsForwarder::restart_from_watermark() {
    while (!unmarked_.empty()) settle_marks(true);
    store_.release_flight();
    sent_through_ = 0;
}

bool VitalsForwarder::forward_waiting() {
    while (true) {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return true;
        }
        // The window full: wait for the oldest watermark's commit.
        if (!settle_marks(unmarked_.size() >= kUnmarkedBatches)) {
            restart_from_watermark();
            return false;
        }
        // What the window already carries, read before the store's figures: a mark that
        // commits in between is then subtracted twice, which only holds its count back to
        // a later batch; it is never reported twice.
        int64_t carried = 0, in_window = 0;
        for (const auto& u : unmarked_) {
            carried += u.thinned_reported;
            in_window += static_cast<int64_t>(u.records);
        }
        auto figures = store_.figures();
        // Less than a full batch beyond the window: wait for the window to empty (the
        // oldest's commit, again) before sending a partial one, so that below the window's
        // rate the batches are as few and as full as with one in flight, one per commit.
        // Sending whatever each commit added made many small batches, and the control plane
        // pays a transaction per batch (docs/benchmarks.md, "Bedside vitals", runs 8-10).
        if (!unmarked_.empty() && figures.waiting - in_window < batch_max_) {
            if (!settle_marks(true)) {
                restart_from_watermark();
                return false;
            }
            continue;
        }
        // A backlog (more than a full window of batches waits beyond the window): read
        // bigger batches, up to what the control plane takes in one message. Not sooner: a
        // big batch is stored and fed upstream as one, so its oldest rows wait for all of it.
        int limit = batch_max_;
        if (figures.waiting - in_window > static_cast<int64_t>(kUnmarkedBatches) * batch_max_)
            limit = std::max(batch_max_, static_cast<int>(limits::kVitalsBatchRecords));
        auto rows = store_.read_into_flight(sent_through_, limit);
        if (!rows) {
            log::error("vitals.forward_read_failed", {{"error", rows.error().describe()}});
            restart_from_watermark();
            return false;
        }
        int64_t thinned = std::max<int64_t>(0, figures.thinned_unreported - carried);
        if (rows->empty() && thinned == 0) return true;
        // The oldest rows up to the message's size; the rest stay for the next batch.
        nlohmann::json records = nlohmann::json::array();
        std::size_t bytes = 0, taken = 0;
        for (const auto& r : rows.value()) {
            auto j = to_json(r);
            auto size = dumped_size(j);
            if (taken > 0 && bytes + size > kRecordsBytes) break;
            bytes += size;
            records.push_back(std::move(j));
            ++taken;
        }
        int64_t last_seq = taken == 0 ? 0 : (*rows)[taken - 1].seq;
        nlohmann::json body = {{"records", std::move(records)},
                               {"firstSeq", taken == 0 ? 0 : rows->front().seq},
                               {"lastSeq", last_seq},
                               {"thinnedSinceLast", thinned},
                               {"thinnedTotal", figures.thinned_total},
                               {"waiting", figures.waiting}};
        auto msg = OutgoingMessage::to(topics::vitals(hospital_id_),
                                       Envelope::make("vitals.batch", hospital_id_, std::move(body)).to_json());
        if (auto sent = link_.publish(msg); !sent) {
            batches("failed").inc();
            log::warn("vitals.forward_failed", {{"error", sent.error().describe()}, {"waiting", figures.waiting}});
            restart_from_watermark();
            return false;
        }
        batches("sent").inc();
        if (taken > 0) sent_through_ = last_seq;
        // The watermark moves in the writer's next commit; the next batch goes meanwhile.
        auto marked = std::make_shared<std::promise<Result<void>>>();
        unmarked_.push_back({last_seq, thinned, taken, marked->get_future().share()});
        store_.acknowledge(last_seq, thinned, [marked](const Result<void>& r) { marked->set_value(r); });
        {
            std::lock_guard lock(mu_);
            ++batches_;
        }
        if (taken == rows->size() && rows->size() < static_cast<std::size_t>(limit)) return true;
    }
}

}  // namespace hisgate::vitals
