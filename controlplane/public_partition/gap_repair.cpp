#include "controlplane/public_partition/gap_repair.h"

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

#include <set>

namespace hisgate::controlplane::public_partition {

namespace {
void count_repair(const char* outcome) {
    metrics::global()
        .counter("hisgate_public_repairs_total", "Gap repairs of the public primary, by how they ended",
                 {{"outcome", outcome}})
        .inc();
}
}  // namespace

GapRepair::GapRepair(PublicPrimary& primary, Ask ask, Clock& clock, RepairSettings settings)
    : primary_(primary), ask_(std::move(ask)), clock_(clock), settings_(settings) {}

GapRepair::~GapRepair() { stop(); }

void GapRepair::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
}

void GapRepair::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void GapRepair::poke() {
    {
        std::lock_guard lock(mu_);
        poked_ = true;
    }
    cv_.notify_all();
}

void GapRepair::run() {
    name_this_thread("gap-repair");
    std::unique_lock lock(mu_);
    while (!stopping_) {
        poked_ = false;
        lock.unlock();
        repair_round();
        lock.lock();
        clock_.wait_for(lock, cv_, settings_.interval, [this] { return stopping_ || poked_; });
    }
}

int GapRepair::repair_round() {
    auto gaps = primary_.gaps();
    if (!gaps) {
        log::error("public.repair_unreadable", {{"error", gaps.error().describe()}});
        return 0;
    }
    if (online_) {
        // A hospital online whose change sets never arrived (published before any instance
        // subscribed, or lost by the broker) has no later one to reveal the gap: its
        // snapshot is asked for all the same, as a gap with nothing seen (highest 0).
        auto known = primary_.hospitals();
        if (!known) {
            log::error("public.repair_unreadable", {{"error", known.error().describe()}});
            return 0;
        }
        std::set<std::string> heard;
        for (const auto& h : *known) heard.insert(h.hospital_id);
        for (const auto& g : *gaps) heard.insert(g.hospital_id);
        for (auto& id : online_())
            if (!heard.count(id)) gaps->push_back({id, 0, 0, 0, 0});
    }
    int closed = 0;
    const auto now = clock_.steady_now();
    for (const auto& gap : *gaps) {
        auto& b = backoff_[gap.hospital_id];
        if (now < b.next) continue;
        auto r = repair(gap);
        if (r) {
            ++closed;
            backoff_.erase(gap.hospital_id);
            continue;
        }
        b.wait = b.wait.count() == 0 ? settings_.first_retry : std::min(b.wait * 2, settings_.max_retry);
        b.next = now + b.wait;
        count_repair("failed");
        log::warn("public.repair_failed", {{"hospital_id", gap.hospital_id},
                                           {"missing_from", gap.seq + 1},
                                           {"missing_to", gap.highest},
                                           {"error", r.error().describe()},
                                           {"retry_ms", b.wait.count()}});
    }
    // Forget the hospitals whose gaps closed by themselves (the live stream brought them).
    for (auto it = backoff_.begin(); it != backoff_.end();) {
        bool open = false;
        for (const auto& g : *gaps) open = open || g.hospital_id == it->first;
        it = open ? std::next(it) : backoff_.erase(it);
    }
    return closed;
}

Result<void> GapRepair::repair(const HospitalGap& gap) {
    if (gap.highest == 0) {  // never heard of: nothing to ask a range of
        if (auto s = by_snapshot(gap.hospital_id); !s) return s.error();
        count_repair("snapshot");
        return {};
    }
    auto ranged = by_range(gap);
    if (ranged && *ranged) {
        count_repair("range");
        return {};
    }
    // An agent out of reach is asked again later; any other failure (the range no longer
    // kept, not closing the gap, a resent change set that is malformed) is settled by the
    // snapshot.
    if (!ranged && (ranged.error().cls == ErrorClass::Unavailable || ranged.error().cls == ErrorClass::Timeout))
        return ranged.error();
    if (auto s = by_snapshot(gap.hospital_id); !s) return s.error();
    count_repair("snapshot");
    return {};
}

Result<int64_t> GapRepair::fetch_changesets(const std::string& hospital_id, int64_t from, int64_t to,
                                            const std::function<Result<void>(const ChangeSet&)>& each) {
    int64_t next = from;
    for (int piece = 0; piece < settings_.max_pieces && next <= to; ++piece) {
        auto answer = ask_(hospital_id, "reference.changesets", {{"fromSeq", next}, {"toSeq", to}});
        if (!answer) return answer.error();
        auto list = answer->is_object() ? answer->find("changesets") : answer->end();
        if (!answer->is_object() || list == answer->end() || !list->is_array())
            return make_error(ErrorClass::Protocol, "reference.bad_answer",
                              "reference.changesets answer from " + hospital_id + ": expected {\"changesets\": [...]}");
        if (list->empty()) break;  // the agent has nothing more (yet)
        for (const auto& body : *list) {
            auto cs = parse_change_set(body, hospital_id);
            if (!cs) return make_error(ErrorClass::Protocol, cs.error().code, "a resent change set: " + cs.error().message);
            if (cs->seq != next)
                return make_error(ErrorClass::Protocol, "reference.bad_answer",
                                  "reference.changesets answer from " + hospital_id + ": expected seq " +
                                      std::to_string(next) + ", found " + std::to_string(cs->seq));
            if (cs->seq > to) return next - 1;
            if (auto r = each(*cs); !r) return r.error();
            ++next;
        }
    }
    return next - 1;
}

Result<bool> GapRepair::by_range(const HospitalGap& gap) {
    auto fetched = fetch_changesets(gap.hospital_id, gap.seq + 1, gap.highest, [&](const ChangeSet& cs) -> Result<void> {
        auto applied = primary_.apply(cs);
        if (!applied) return applied.error();
        return {};
    });
    if (!fetched) return fetched.error();
    auto gaps = primary_.gaps();
    if (!gaps) return gaps.error();
    for (const auto& g : *gaps)
        if (g.hospital_id == gap.hospital_id && g.seq < gap.highest)
            return make_error(ErrorClass::Rejected, "reference.range_short",
                              "the agent's change sets left " + gap.hospital_id + " at seq " + std::to_string(g.seq));
    return true;
}

namespace {

using RecordKey = std::pair<std::string, std::string>;  // entity, key

// One page of a reference.snapshot answer, checked: its records as parse_snapshot reads
// them, and where the next page starts. An answer without "done" comes from an agent that
// predates paging: the whole snapshot in one.
struct SnapshotPage {
    Snapshot snapshot;
    bool done = true;
    std::string next;
};

Result<SnapshotPage> parse_page(const nlohmann::json& answer, const std::string& hospital_id) {
    auto snapshot = parse_snapshot(answer, hospital_id);
    if (!snapshot) return make_error(ErrorClass::Protocol, snapshot.error().code, "a snapshot page: " + snapshot.error().message);
    SnapshotPage page{std::move(snapshot.value()), true, {}};
    auto done = answer.find("done");
    if (done == answer.end()) return page;
    auto next = answer.find("next");
    if (!done->is_boolean() || next == answer.end())
        return make_error(ErrorClass::Protocol, "reference.bad_answer",
                          "a snapshot page from " + hospital_id + ": expected \"done\" true or false, and \"next\"");
    page.done = done->get<bool>();
    if (page.done) return page;
    if (!next->is_string() || next->get_ref<const std::string&>().empty() || page.snapshot.records.empty())
        return make_error(ErrorClass::Protocol, "reference.bad_answer",
                          "a snapshot page from " + hospital_id +
                              " that is not the last must hold records and name the next page's cursor");
    page.next = next->get<std::string>();
    return page;
}

}  // namespace

Result<void> GapRepair::by_snapshot(const std::string& hospital_id) {
    // Pages read at seqs s_first <= ... <= s_last, assembled by key (a record moved between
    // pages by a change in between may come twice: the later read wins, and the replay
    // settles it either way).
    std::map<RecordKey, RecordChange> records;
    int64_t first_seq = -1, last_seq = 0;
    nlohmann::json after = nullptr;
    int pages = 0;
    for (bool done = false; !done; ++pages) {
        if (pages == settings_.max_snapshot_pages)
            return make_error(ErrorClass::Rejected, "public.snapshot_too_many_pages",
                              "the snapshot of " + hospital_id + " needs more than " +
                                  std::to_string(settings_.max_snapshot_pages) + " pages of " +
                                  std::to_string(settings_.snapshot_page_bytes) +
                                  " bytes (public.max_snapshot_pages, public.snapshot_page_bytes); nothing of it was installed");
        auto answer = ask_(hospital_id, "reference.snapshot", {{"after", after}, {"max_bytes", settings_.snapshot_page_bytes}});
        if (!answer) return answer.error();
        auto page = parse_page(*answer, hospital_id);
        if (!page) return page.error();
        if (page->snapshot.seq < last_seq)
            return make_error(ErrorClass::Protocol, "reference.bad_answer",
                              "a snapshot page from " + hospital_id + " went back from seq " + std::to_string(last_seq) +
                                  " to " + std::to_string(page->snapshot.seq));
        if (first_seq < 0) first_seq = page->snapshot.seq;
        last_seq = page->snapshot.seq;
        for (auto& r : page->snapshot.records) {
            RecordKey k{r.entity, r.key};
            records.insert_or_assign(std::move(k), std::move(r));
        }
        if (records.size() > kMaxRecords)
            return make_error(ErrorClass::Rejected, "public.snapshot_too_many_records",
                              "the snapshot of " + hospital_id + " passes " + std::to_string(kMaxRecords) +
                                  " records; nothing of it was installed");
        done = page->done;
        after = page->next;
    }
    // The pages hold each key as of its own page's seq; the change sets since the first
    // bring every one to s_last (gap_repair.h).
    int64_t replayed = 0;
    if (last_seq > first_seq) {
        auto fetched = fetch_changesets(hospital_id, first_seq + 1, last_seq, [&](const ChangeSet& cs) -> Result<void> {
            for (const auto& c : cs.changes) {
                RecordKey k{c.entity, c.key};
                if (c.remove) records.erase(k);
                else records.insert_or_assign(std::move(k), c);
            }
            ++replayed;
            return {};
        });
        if (!fetched) return fetched.error();
        if (*fetched != last_seq)
            return make_error(ErrorClass::Rejected, "reference.range_short",
                              "the snapshot of " + hospital_id + " was read from seq " + std::to_string(first_seq) +
                                  " to " + std::to_string(last_seq) + ", and the agent's change sets in between end at " +
                                  std::to_string(*fetched) + "; nothing of it was installed");
    }
    Snapshot whole{hospital_id, last_seq, {}};
    whole.records.reserve(records.size());
    for (auto& [k, r] : records) whole.records.push_back(std::move(r));
    auto applied = primary_.apply_snapshot(whole);
    if (!applied) return applied.error();
    log::info("public.snapshot_applied", {{"hospital_id", hospital_id}, {"seq", last_seq}, {"first_seq", first_seq},
                                          {"pages", pages}, {"replayed", replayed}, {"records", whole.records.size()}});
    return {};
}

void take_changeset(PublicPrimary& primary, GapRepair* repair, const std::string& hospital_id,
                    const nlohmann::json& body) {
    auto cs = parse_change_set(body, hospital_id);
    if (!cs) {
        count_applied("refused");
        log::warn("public.changeset_refused", {{"hospital_id", hospital_id}, {"code", cs.error().code},
                                               {"reason", cs.error().message}});
        return;
    }
    auto applied = primary.apply(*cs);
    if (!applied) {
        log::error("public.changeset_not_applied", {{"hospital_id", hospital_id}, {"seq", cs->seq},
                                                    {"error", applied.error().describe()}});
        return;
    }
    if (applied->applied == Applied::Held && repair) repair->poke();
}

}  // namespace hisgate::controlplane::public_partition
