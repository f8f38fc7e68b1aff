// What the primary tells operators about the public partition (issue 14 item 5): per
// hospital the last change set applied and its gap, the stream's head, and the replicas as
// the primary sees them (each replica's last stream request names the position it holds).
// Shown by GET /api/v1/fleet ("reference" per hospital, "publicPartition") and
// `hisgate fleet`, and on /metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::public_partition {

// The replicas that follow this instance, by name (their token's subject), in memory:
// a replica silent for longer than kForgetAfter is dropped from it.
class ReplicaRoster {
public:
    static constexpr size_t kMaxReplicas = 256;  // beyond this, new names are not kept
    static constexpr std::chrono::minutes kForgetAfter{10};

    explicit ReplicaRoster(Clock& clock) : clock_(clock) {}
    // A replica asked for the entries after `pos`: it holds pos.
    void heard(const std::string& replica, int64_t pos);
    // {"name", "position", "lagEntries", "heardAt"} each, against `head`.
    nlohmann::json list(const StreamHead& head);

private:
    struct Seen {
        int64_t pos = 0;
        int64_t at_ms = 0;
    };
    Clock& clock_;
    std::mutex mu_;
    std::map<std::string, Seen> replicas_;
};

// Per hospital id: {"seq", "appliedAt", "suspect", "gap": {"missingFrom", "missingTo", "since", "held"} | null}.
Result<std::map<std::string, nlohmann::json>> reference_by_hospital(PublicPrimary& primary);

// {"streamPosition", "streamChecksum", "lastAppliedAt", "gaps", "replicas": [...]}.
Result<nlohmann::json> public_summary(PublicPrimary& primary, ReplicaRoster& roster);

// Sets the hisgate_public_* gauges from the primary's state (at each /metrics request).
void publish_public_metrics(PublicPrimary& primary, ReplicaRoster& roster);

}  // namespace hisgate::controlplane::public_partition
