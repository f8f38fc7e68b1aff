#include "controlplane/public_partition/public_status.h"

#include "common/metrics.h"
#include "common/utc_time.h"

namespace hisgate::controlplane::public_partition {

namespace {
std::string time_text(int64_t ms) {
    if (ms <= 0) return "";
    return utc_strftime(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)), "%Y-%m-%dT%H:%M:%SZ");
}
}  // namespace

void ReplicaRoster::heard(const std::string& replica, int64_t pos) {
    std::lock_guard lock(mu_);
    const int64_t now = clock_.wall_ms();
    for (auto it = replicas_.begin(); it != replicas_.end();)
        it = now - it->second.at_ms > std::chrono::milliseconds(kForgetAfter).count() ? replicas_.erase(it) : std::next(it);
    if (replicas_.size() >= kMaxReplicas && !replicas_.count(replica)) return;
    replicas_[replica] = {pos, now};
}

nlohmann::json ReplicaRoster::list(const StreamHead& head) {
    std::lock_guard lock(mu_);
    auto out = nlohmann::json::array();
    for (const auto& [name, seen] : replicas_)
        out.push_back({{"name", name},
                       {"position", seen.pos},
                       {"lagEntries", std::max<int64_t>(0, head.pos - seen.pos)},
                       {"heardAt", time_text(seen.at_ms)}});
    return out;
}

Result<std::map<std::string, nlohmann::json>> reference_by_hospital(PublicPrimary& primary) {
    auto states = primary.hospitals();
    if (!states) return states.error();
    auto gaps = primary.gaps();
    if (!gaps) return gaps.error();
    std::map<std::string, nlohmann::json> out;
    for (const auto& s : *states)
        out[s.hospital_id] = {{"seq", s.seq}, {"appliedAt", time_text(s.applied_ms)}, {"suspect", s.suspect}, {"gap", nullptr}};
    for (const auto& g : *gaps) {
        auto& h = out[g.hospital_id];
        if (!h.contains("seq")) h = {{"seq", g.seq}, {"appliedAt", ""}, {"suspect", true}};
        h["gap"] = {{"missingFrom", g.seq + 1}, {"missingTo", g.highest}, {"since", time_text(g.since_ms)}, {"held", g.held}};
    }
    return out;
}

Result<nlohmann::json> public_summary(PublicPrimary& primary, ReplicaRoster& roster) {
    auto head = primary.head();
    if (!head) return head.error();
    auto gaps = primary.gaps();
    if (!gaps) return gaps.error();
    return nlohmann::json{{"streamPosition", head->pos},
                          {"streamChecksum", checksum_text(head->checksum)},
                          {"lastAppliedAt", time_text(head->at_ms)},
                          {"gaps", gaps->size()},
                          {"replicas", roster.list(*head)}};
}

void publish_public_metrics(PublicPrimary& primary, ReplicaRoster& roster) {
    auto& m = metrics::global();
    auto head = primary.head();
    if (head) m.gauge("hisgate_public_stream_position", "The public partition's last stream entry").set(static_cast<double>(head->pos));
    auto by_hospital = reference_by_hospital(primary);
    if (by_hospital) {
        int64_t gaps = 0;
        for (const auto& [hospital, r] : *by_hospital) {
            const bool gap = !r["gap"].is_null();
            gaps += gap;
            m.gauge("hisgate_public_hospital_seq", "The last change set of the hospital the public partition applied",
                    {{"hospital", hospital}})
                .set(static_cast<double>(r["seq"].get<int64_t>()));
            m.gauge("hisgate_public_hospital_gap", "1 while change sets of the hospital are missing", {{"hospital", hospital}})
                .set(gap ? 1 : 0);
        }
        m.gauge("hisgate_public_gaps", "Hospitals with change sets missing").set(static_cast<double>(gaps));
    }
    if (head)
        for (const auto& r : roster.list(*head))
            m.gauge("hisgate_public_replica_lag_entries", "Stream entries a replica has not applied, as its last request said",
                    {{"replica", r["name"].get<std::string>()}})
                .set(static_cast<double>(r["lagEntries"].get<int64_t>()));
}

}  // namespace hisgate::controlplane::public_partition
