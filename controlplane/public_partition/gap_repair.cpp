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

Result<bool> GapRepair::by_range(const HospitalGap& gap) {
    int64_t from = gap.seq + 1;
    for (int piece = 0; piece < settings_.max_pieces && from <= gap.highest; ++piece) {
        auto answer = ask_(gap.hospital_id, "reference.changesets", {{"fromSeq", from}, {"toSeq", gap.highest}});
        if (!answer) return answer.error();
        auto list = answer->find("changesets");
        if (!answer->is_object() || list == answer->end() || !list->is_array())
            return make_error(ErrorClass::Protocol, "reference.bad_answer",
                              "reference.changesets answer from " + gap.hospital_id + ": expected {\"changesets\": [...]}");
        if (list->empty()) break;
        int64_t last = from - 1;
        for (const auto& body : *list) {
            auto cs = parse_change_set(body, gap.hospital_id);
            if (!cs) return make_error(ErrorClass::Protocol, cs.error().code, "a resent change set: " + cs.error().message);
            auto applied = primary_.apply(*cs);
            if (!applied) return applied.error();
            last = std::max(last, cs->seq);
        }
        if (last < from) break;  // nothing new: the agent is not moving forward
        from = last + 1;
    }
    auto gaps = primary_.gaps();
    if (!gaps) return gaps.error();
    for (const auto& g : *gaps)
        if (g.hospital_id == gap.hospital_id && g.seq < gap.highest)
            return make_error(ErrorClass::Rejected, "reference.range_short",
                              "the agent's change sets left " + gap.hospital_id + " at seq " + std::to_string(g.seq));
    return true;
}

Result<void> GapRepair::by_snapshot(const std::string& hospital_id) {
    auto answer = ask_(hospital_id, "reference.snapshot", nlohmann::json::object());
    if (!answer) return answer.error();
    auto snapshot = parse_snapshot(*answer, hospital_id);
    if (!snapshot) return make_error(ErrorClass::Protocol, snapshot.error().code, "a snapshot: " + snapshot.error().message);
    auto applied = primary_.apply_snapshot(*snapshot);
    if (!applied) return applied.error();
    log::info("public.snapshot_applied", {{"hospital_id", hospital_id}, {"seq", snapshot->seq},
                                          {"records", snapshot->records.size()}});
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
