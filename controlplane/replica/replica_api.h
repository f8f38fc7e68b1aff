// A read replica's HTTP API: patient search, served from the replica's own file, and the
// replica's own state. No token: the public partition is public reference data, and
// nothing here reaches a HIS or holds a patient's data.
//
//   GET /api/v1/search/{hospitals,departments,doctors,slots}?...   (search_api.h); every answer
//       carries "freshness": {"replica", "position", "lag": {"entries", "seconds"}}. With
//       min_seq=P, a replica behind P waits up to search.min_seq_wait_ms for it, then answers
//       409 replica.behind with its position (read-your-writes: the caller tries another
//       replica or again).
//   GET /api/v1/replica     this replica's ReplicaStatus (follower.h)
//   GET /metrics, GET /healthz
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <chrono>
#include <string>

#include "common/clock.h"
#include "controlplane/replica/follower.h"
#include "controlplane/replica/replica_store.h"

namespace hisgate::controlplane::replica {

class ReplicaApi {
public:
    ReplicaApi(std::string replica_id, ReplicaStore& store, Follower& follower, Clock& clock,
               std::chrono::milliseconds min_seq_wait)
        : replica_id_(std::move(replica_id)), store_(store), follower_(follower), clock_(clock),
          min_seq_wait_(min_seq_wait) {}

    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    nlohmann::json freshness() const;
    void search(const std::string& kind, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

    std::string replica_id_;
    ReplicaStore& store_;
    Follower& follower_;
    Clock& clock_;
    std::chrono::milliseconds min_seq_wait_;
};

}  // namespace hisgate::controlplane::replica
