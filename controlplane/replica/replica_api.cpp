#include "controlplane/replica/replica_api.h"

#include <Poco/URI.h>

#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/utc_time.h"
#include "controlplane/public_partition/search_api.h"

namespace hisgate::controlplane::replica {

namespace {
// A label value from a fixed set: the path is the caller's, and would grow the series.
const char* known_kind(const std::string& kind) {
    for (const char* k : {"hospitals", "departments", "doctors", "slots"})
        if (kind == k) return k;
    return "other";
}
}  // namespace

nlohmann::json ReplicaApi::freshness() const {
    auto s = follower_.status();
    return {{"replica", replica_id_},
            {"position", s.pos},
            {"lag", {{"entries", s.lag_entries}, {"seconds", s.lag_seconds}}}};
}

void ReplicaApi::handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    const std::string& uri = req.getURI();
    if (uri == "/metrics" || uri == "/healthz") {
        serve_metrics(req, res);
        return;
    }
    std::string path;
    try {
        path = Poco::URI(uri).getPath();
    } catch (const Poco::Exception&) {
        return send_json(res, 400, {{"code", "http.bad_uri"}, {"message", "the request target is not a valid URI"}});
    }
    if (req.getMethod() != "GET" && req.getMethod() != "HEAD") {
        res.set("Allow", "GET, HEAD");
        return send_json(res, 405, {{"code", "http.method_not_allowed"}, {"message", req.getMethod() + " is not served here"}});
    }
    if (path == "/api/v1/replica") return send_json(res, 200, follower_.status().to_json());
    const std::string prefix = "/api/v1/search/";
    // Search is public and carries no credentials: the portal, served by the control plane
    // on another origin, reads it from the browser (docs/portal.md).
    res.set("Access-Control-Allow-Origin", "*");
    if (path.rfind(prefix, 0) == 0) return search(path.substr(prefix.size()), req, res);
    send_json(res, 404, {{"code", "http.not_found"}, {"message", "no such endpoint"}});
}

void ReplicaApi::search(const std::string& kind, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    auto started = std::chrono::steady_clock::now();
    const std::string today = utc_strftime(clock_.wall_now(), "%Y-%m-%d");
    auto request = public_partition::read_search_request(req.getMethod(), req.getURI(), today);
    if (!request) return public_partition::answer_search_error(res, request.error());
    // Read-your-writes: a position the caller saw elsewhere, not yet here.
    const int64_t min_seq = request->min_seq.value_or(0);
    if (min_seq > 0 && follower_.status().pos < min_seq && !follower_.wait_for_position(min_seq, min_seq_wait_)) {
        auto f = freshness();
        send_json(res, 409, {{"code", "replica.behind"},
                             {"message", "this replica is at position " + std::to_string(f["position"].get<int64_t>()) +
                                             ", behind the min_seq " + std::to_string(min_seq) + " asked for"},
                             {"freshness", f}});
        return;
    }
    auto answered = store_.read([&](sql::Db& db) -> Result<nlohmann::json> {
        public_partition::answer_search(res, db, *request, freshness());
        return nlohmann::json();
    });
    if (!answered) send_json(res, 503, {{"code", answered.error().code}, {"message", answered.error().message}});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics::global()
        .histogram("hisgate_replica_search_duration_seconds", "Search latency on this replica", {{"kind", known_kind(kind)}})
        .observe(seconds);
}

}  // namespace hisgate::controlplane::replica
