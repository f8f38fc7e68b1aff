#include "agent/extraction/extractor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <variant>

#include "appointment-rules/calendar.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"
#include "common/utc_time.h"

namespace hisgate::extraction {

namespace {

metrics::Counter& changesets_counter(const std::string& source) {
    return metrics::global().counter("hisgate_extraction_changesets_total",
                                     "Reference-data change sets committed, by source (pull, push)", {{"source", source}});
}

// A pushed record as a change to the snapshot.
Change change_of(const ReferenceUpdate& u) {
    Record r = std::visit([](const auto& record) { return record_of(record); }, u.record);
    if (!u.withdrawn) return {Op::Upsert, std::move(r)};
    return {Op::Delete, {r.entity, r.key, "", nullptr}};
}

}  // namespace

Result<std::unique_ptr<Extractor>> Extractor::open(HisAdapter& his, ExtractionSettings settings,
                                                   const std::string& state_file, std::string hospital_id,
                                                   agent::EventSink& sink, Clock& clock) {
    auto zone = TimeZone::load(settings.timezone);
    if (!zone) return make_error(ErrorClass::Config, "params.invalid", "hospital.timezone: " + zone.error().message);
    auto store = SnapshotStore::open(state_file, settings.history_keep);
    if (!store) return store.error();
    std::unique_ptr<Extractor> x(new Extractor(his, std::move(settings), std::move(hospital_id), sink,
                                               std::move(store.value()), std::move(zone.value()), clock));
    std::lock_guard lock(x->mu_);
    // What a crash left between commit and hand-over; if the sink refuses it now, it stays
    // pending for the first pull or push (logged by hand_over_pending_locked).
    if (auto r = x->hand_over_pending_locked(); !r) log::warn("extraction.pending_kept", {{"code", r.error().code}});
    return x;
}

Extractor::Extractor(HisAdapter& his, ExtractionSettings settings, std::string hospital_id, agent::EventSink& sink,
                     SnapshotStore store, TimeZone zone, Clock& clock)
    : his_(his),
      settings_(std::move(settings)),
      hospital_id_(std::move(hospital_id)),
      sink_(sink),
      clock_(clock),
      zone_(std::move(zone)),
      store_(std::move(store)) {}

Extractor::~Extractor() { stop(); }

Result<void> Extractor::start() {
    if (schedule_.joinable()) return {};
    auto listener = his_.listen_for_pushes([this](const ReferencePush& push) { return on_push(push); });
    if (!listener) return listener.error();
    push_listener_ = std::move(listener.value());
    {
        std::lock_guard lock(schedule_mu_);
        stopping_ = false;
    }
    schedule_ = std::thread([this] { run_schedule(); });
    return {};
}

void Extractor::stop() {
    if (push_listener_) push_listener_->stop();  // intake first
    {
        std::lock_guard lock(schedule_mu_);
        stopping_ = true;
    }
    schedule_cv_.notify_all();
    if (schedule_.joinable()) schedule_.join();
}

uint16_t Extractor::push_port() const { return push_listener_ ? push_listener_->port() : 0; }

int64_t Extractor::last_seq() {
    std::lock_guard lock(mu_);
    auto s = store_.last_seq();
    return s ? s.value() : 0;
}

void Extractor::run_schedule() {
    name_this_thread("extraction");
    std::unique_lock lock(schedule_mu_);
    while (!stopping_) {
        lock.unlock();
        if (auto r = extract_now(); !r)
            log::warn("extraction.pull_failed", {{"code", r.error().code}, {"message", r.error().message}});
        lock.lock();
        clock_.wait_for(lock, schedule_cv_, settings_.interval, [this] { return stopping_; });
    }
}

Result<ExtractionOutcome> Extractor::extract_now() {
    auto now = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
    auto today = std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(zone_.to_local(now)));
    return extract(appointments::format_date(today),
                   appointments::format_date(appointments::add_days(today, settings_.days_ahead - 1)));
}

Result<ExtractionOutcome> Extractor::extract(const std::string& from, const std::string& to) {
    static auto& failures = metrics::global().counter("hisgate_extraction_pull_failures_total",
                                                      "Scheduled or requested reference-data pulls that applied nothing");
    auto first = appointments::parse_date(from), last = appointments::parse_date(to);
    if (!first || !last || *last < *first)
        return make_error(ErrorClass::BadInput, "extraction.bad_window",
                          "pull window \"" + from + "\" to \"" + to +
                              "\": expected two dates YYYY-MM-DD, the first not after the second");
    uint64_t began;
    {
        std::lock_guard lock(mu_);
        began = pushes_;
        pulls_reading_.insert(began);
    }
    // The HIS is asked outside the lock so pushes are not held up by a slow pull.
    auto data = his_.extract_reference_data(from, to);
    auto records = data ? records_of(data.value()) : Result<std::vector<Record>>(data.error());
    std::lock_guard lock(mu_);
    if (!records) {
        pull_done_locked(began);
        failures.inc();
        return records.error();
    }
    // The hospital's own record rides every pull, so a change of its parameters is sent.
    records->push_back(hospital_record(hospital_id_, settings_.hospital));
    auto scope = store_.in_scope(from, to);
    if (!scope) {
        pull_done_locked(began);
        failures.inc();
        return scope.error();
    }
    auto changes = pull_diff(scope.value(), records.value());
    // What was pushed while this pull read the HIS is newer than what it read.
    std::erase_if(changes, [&](const Change& c) {
        auto it = pushed_while_pulling_.find({c.record.entity, c.record.key});
        return it != pushed_while_pulling_.end() && it->second > began;
    });
    pull_done_locked(began);
    return commit_locked(std::move(changes), "pull", {{"window", {{"from", from}, {"to", to}}}});
}

void Extractor::pull_done_locked(uint64_t began) {
    pulls_reading_.erase(pulls_reading_.find(began));
    // A pull that begins later has seen every push so far; only those still reading need
    // the records pushed after they began.
    const uint64_t oldest = pulls_reading_.empty() ? pushes_ : *pulls_reading_.begin();
    std::erase_if(pushed_while_pulling_, [&](const auto& entry) { return entry.second <= oldest; });
}

Result<ExtractionOutcome> Extractor::commit_locked(std::vector<Change> changes, const std::string& source,
                                                   const nlohmann::json& origin) {
    // Keep only what differs from the snapshot, as it stands after the earlier changes of
    // the same batch (a push may name one record twice).
    std::map<RecordKey, std::optional<Record>> after;
    std::vector<Change> effective;
    for (auto& c : changes) {
        RecordKey k{c.record.entity, c.record.key};
        std::optional<Record> now;
        if (auto it = after.find(k); it != after.end()) now = it->second;
        else {
            auto found = store_.find(k.first, k.second);
            if (!found) return found.error();
            now = found.value();
        }
        bool differs = c.op == Op::Delete ? now.has_value()
                                          : !now || now->data != c.record.data || now->date != c.record.date;
        if (!differs) continue;
        after[k] = c.op == Op::Delete ? std::nullopt : std::optional<Record>(c.record);
        effective.push_back(std::move(c));
    }
    if (effective.empty()) return handed_over(ExtractionOutcome{});  // a resent push delivers what was left pending

    auto committed = store_.commit(effective, [&](int64_t seq) {
        nlohmann::json body = {{"schema", 1},           {"seq", seq},    {"baseSeq", seq - 1},
                               {"hospital", hospital_id_}, {"source", source}, {"createdAt", utc_strftime(clock_.wall_now(), "%Y-%m-%dT%H:%M:%SZ")}};
        body.update(origin);
        body["changes"] = nlohmann::json::array();
        for (const auto& c : effective) body["changes"].push_back(c.to_json());
        return body;
    });
    if (!committed) return committed.error();
    changesets_counter(source).inc();
    metrics::global().gauge("hisgate_extraction_last_seq", "Sequence number of the last reference-data change set")
        .set(static_cast<double>(committed->seq));
    log::info("extraction.changeset", {{"seq", committed->seq}, {"source", source}, {"changes", effective.size()}});
    return handed_over(ExtractionOutcome{committed->seq, effective.size(), std::nullopt});
}

ExtractionOutcome Extractor::handed_over(ExtractionOutcome outcome) {
    if (auto r = hand_over_pending_locked(); !r) outcome.handover_error = r.error();
    return outcome;
}

Result<void> Extractor::hand_over_pending_locked() {
    auto pending = store_.pending();
    if (!pending) {
        log::error("extraction.pending_unreadable", {{"code", pending.error().code}, {"message", pending.error().message}});
        return pending.error();
    }
    for (const auto& cs : pending.value()) {
        // Stays pending until the sink stored it; the next change set, pull, push or start
        // hands it over first, so receivers see every seq, in order.
        auto body = nlohmann::json::parse(cs.body, nullptr, false);
        if (body.is_discarded()) {
            log::error("extraction.handover_failed", {{"seq", cs.seq}, {"error", "stored change set is not JSON"}});
            return make_error(ErrorClass::Internal, "extraction.storage",
                              "pending change set " + std::to_string(cs.seq) + " is not JSON");
        }
        if (auto sent = sink_.emit("reference.changeset", body); !sent) {
            log::error("extraction.handover_failed", {{"seq", cs.seq}, {"code", sent.error().code}});
            return sent.error();
        }
        if (auto r = store_.handed_over(cs.seq); !r) {
            log::error("extraction.handover_unrecorded", {{"seq", cs.seq}, {"message", r.error().message}});
            return r.error();
        }
    }
    return {};
}

Result<ChangeSetRange> Extractor::changesets(int64_t from, int64_t to, size_t max_bytes, size_t max_first_bytes) {
    std::lock_guard lock(mu_);
    auto last = store_.last_seq();
    if (!last) return last.error();
    ChangeSetRange out{hospital_id_, last.value(), {}, true};
    if (from > last.value()) return out;  // nothing there yet: the receiver is up to date
    auto oldest = store_.oldest_kept();
    if (!oldest) return oldest.error();
    if (!oldest.value() || from < *oldest.value())
        return make_error(ErrorClass::Rejected, "reference.range_gone",
                          "change set " + std::to_string(from) + " is no longer kept by this agent; " +
                              (oldest.value() ? "the oldest kept is " + std::to_string(*oldest.value())
                                              : std::string("it keeps none (last seq ") + std::to_string(last.value()) + ")") +
                              "; ask for reference.snapshot instead");
    int64_t end = std::min(to, last.value()), next = from;
    size_t used = 0;
    std::optional<Error> failed;
    auto read = store_.for_each_changeset(from, end, [&](int64_t seq, const std::string& body) {
        if (seq != next) {
            failed = make_error(ErrorClass::Internal, "extraction.storage",
                                "kept change sets skip from " + std::to_string(next) + " to " + std::to_string(seq));
            return false;
        }
        size_t cost = body.size() + 1;  // and its comma
        if (out.changesets.empty() ? cost > max_first_bytes : used + cost > max_bytes) {
            if (out.changesets.empty())
                failed = make_error(ErrorClass::Rejected, "reference.changeset_too_large",
                                    "change set " + std::to_string(seq) + " alone is " + std::to_string(body.size()) +
                                        " bytes, more than an answer may carry (" + std::to_string(max_first_bytes) +
                                        "); ask for reference.snapshot instead");
            out.complete = false;
            return false;
        }
        auto parsed = nlohmann::json::parse(body, nullptr, false);
        if (parsed.is_discarded()) {
            failed = make_error(ErrorClass::Internal, "extraction.storage",
                                "kept change set " + std::to_string(seq) + " is not JSON");
            return false;
        }
        out.changesets.push_back(std::move(parsed));
        used += cost;
        ++next;
        return true;
    });
    if (!read) return read.error();
    if (failed) return *failed;
    if (out.complete && next <= end)  // the kept run is unbroken up to last_seq (snapshot_store.h)
        return make_error(ErrorClass::Internal, "extraction.storage",
                          "kept change sets end at " + std::to_string(next - 1) + ", before " + std::to_string(end));
    return out;
}

Result<ReferenceSnapshot> Extractor::snapshot_page(const std::optional<SnapshotCursor>& after, size_t max_bytes,
                                                   size_t max_first_bytes) {
    std::lock_guard lock(mu_);
    ReferenceSnapshot out{hospital_id_, 0, nlohmann::json::array(), true, std::nullopt};
    size_t used = 0;
    std::optional<Error> failed;
    std::optional<RecordKey> from;
    if (after) from = RecordKey{after->entity, after->key};
    auto seq = store_.read_records(from, [&](Record&& r) {
        nlohmann::json item = {{"entity", r.entity}, {"key", r.key}, {"data", std::move(r.data)}};
        size_t cost = item.dump().size() + 1;  // and its comma
        if (out.records.empty() ? cost > max_first_bytes : used + cost > max_bytes) {
            if (out.records.empty())
                failed = make_error(ErrorClass::Rejected, "reference.record_too_large",
                                    "snapshot record " + r.entity + " " + r.key + " alone is " + std::to_string(cost) +
                                        " bytes, more than an answer may carry (" + std::to_string(max_first_bytes) + ")");
            out.done = false;
            return false;
        }
        used += cost;
        out.last = SnapshotCursor{r.entity, r.key};
        out.records.push_back(std::move(item));
        return true;
    });
    if (!seq) return seq.error();
    if (failed) return *failed;
    out.seq = seq.value();
    return out;
}

Result<void> Extractor::on_push(const ReferencePush& push) {
    std::vector<Change> changes;
    changes.reserve(push.updates.size());
    for (const auto& u : push.updates) changes.push_back(change_of(u));
    std::lock_guard lock(mu_);
    ++pushes_;
    if (!pulls_reading_.empty())
        for (const auto& c : changes) pushed_while_pulling_[{c.record.entity, c.record.key}] = pushes_;
    auto applied = commit_locked(std::move(changes), "push", {{"trigger", push.trigger}, {"controlId", push.message_id}});
    if (!applied) return applied.error();
    if (applied->handover_error) return *applied->handover_error;  // stored, not yet upstream: the HIS sends again
    return {};
}

}  // namespace hisgate::extraction
