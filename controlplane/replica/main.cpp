// hisgate-replica: a read replica of the public partition (issue 14 item 2). It follows the
// primary's change stream into its own SQLite file and serves patient search from it, so
// searches never load the primary, and never a HIS. Add replicas to serve more searches.
#include <cstdio>
#include <fstream>

#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/program.h"
#include "common/random_id.h"
#include "common/settings.h"
#include "controlplane/replica/follower.h"
#include "controlplane/replica/replica_api.h"

using namespace hisgate;
using namespace hisgate::controlplane::replica;

static std::string usage() {
    return std::string(R"(usage: hisgate-replica --config FILE | --help | --version

Follows the public partition's primary (a control plane's replication API) into its own
SQLite file and serves patient search from it. FILE is JSON:
  replica_id          string   this replica's name in answers and logs (default: random)
  db                  string, required   this replica's SQLite file (made from a snapshot
                               of the primary when new)
  primary.host        string   the control plane serving the replication API (default 127.0.0.1)
  primary.port        int, required   its HTTP port
  primary.token_file  string, required   a file holding a service token for it
                               (`hisgate token issue --role service ...`)
  primary.tls         bool     the primary's API speaks HTTPS (default false)
  primary.ca_file     string   PEM: the CA its certificate is checked against (default: the
                               system's CAs); its name must match primary.host
  http.bind           string   search API address (default 127.0.0.1)
  http.port           int, required   search API port (0 = any free port, printed at start)
  follow.wait_ms      int      a long poll's length: an idle primary answers this often
                               (default 2000)
  follow.check_interval_ms int how often the replica recomputes its checksum from its rows
                               (default 60000)
  follow.max_lag_entries int   further behind than this, it re-seeds from a snapshot (default 50000)
  follow.silence_ms   int      no answer from the primary this long: the lag counts the silence
                               (default 10000)
  search.min_seq_wait_ms int   how long a search with min_seq waits for the replica to reach it
                               (default 2000), then 409 replica.behind
)") + kHttpTlsConfigHelp + kLogConfigHelp;
}

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "hisgate-replica", usage());
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    std::string replica_id = c.string("replica_id", "replica-" + random_hex(4));
    if (replica_id.empty() || replica_id.size() > 64) c.problem("replica_id", "1 to 64 characters", "\"" + replica_id.substr(0, 64) + "\"");
    std::string db = c.string("db", std::nullopt);
    PrimaryAddress primary;
    primary.host = c.string("primary.host", "127.0.0.1");
    primary.port = static_cast<uint16_t>(c.integer("primary.port", std::nullopt, 1, 65535));
    std::string token_file = c.string("primary.token_file", std::nullopt);
    bool primary_tls = c.boolean("primary.tls", false);
    std::string primary_ca = c.string("primary.ca_file", "");
    if (primary_tls) {
        auto tls = make_client_tls({primary_ca, /*verify_peer=*/true, "", ""});
        if (!tls) c.problem("primary.ca_file", "a readable PEM file of CA certificates", tls.error().message);
        else primary.tls = *tls;
    }
    auto http_tls = read_http_tls(c);
    std::string http_bind = c.string("http.bind", "127.0.0.1");
    auto http_port = static_cast<uint16_t>(c.integer("http.port", std::nullopt, 0, 65535));
    FollowSettings follow;
    follow.wait = std::chrono::milliseconds(c.integer("follow.wait_ms", 2000, 100, 30000));
    follow.check_interval = std::chrono::milliseconds(c.integer("follow.check_interval_ms", 60000, 100, 86400000));
    follow.max_lag_entries = c.integer("follow.max_lag_entries", 50000, 1, 100000000);
    follow.silence = std::chrono::milliseconds(c.integer("follow.silence_ms", 10000, 100, 3600000));
    auto min_seq_wait = std::chrono::milliseconds(c.integer("search.min_seq_wait_ms", 2000, 0, 30000));
    auto log_settings = read_log_settings(c);
    if (!token_file.empty()) {
        std::ifstream in(token_file);
        std::string token;
        if (!in || !std::getline(in, token) || token.empty() || token.size() > 4096)
            c.problem("primary.token_file", "a readable file whose first line is a service token", "\"" + token_file + "\"");
        primary.token = token;
    }
    if (auto done = c.finish(); !done) return invalid_config("hisgate-replica", done.error());
    log::init("replica:" + replica_id, log_settings.file, log_settings.level);

    auto store = ReplicaStore::open(db);
    if (!store) return invalid_config("hisgate-replica", store.error());
    PrimaryClient client(primary);
    Follower follower(**store, client, SystemClock::instance(), follow);
    ReplicaApi api(replica_id, **store, follower, SystemClock::instance(), min_seq_wait);
    HttpServer http(http_bind, http_port, [&](auto& req, auto& res) { api.handle(req, res); });
    if (http_tls) {
        auto tls = make_server_tls(*http_tls);
        if (!tls) return invalid_config("hisgate-replica", tls.error());
        http.use_tls(*tls);
    }
    if (auto started = http.start(); !started) {
        std::fprintf(stderr, "hisgate-replica: %s\n", started.error().describe().c_str());
        return 2;
    }
    follower.start();
    metrics::global().gauge("hisgate_replica_up", "1 while this replica runs").set(1);
    log::info("replica.started", {{"replica_id", replica_id}, {"http_port", http.port()}});
    std::printf("hisgate-replica %s: search on %s://%s:%u/api/v1/search/doctors\n", replica_id.c_str(),
                http_tls ? "https" : "http", http_bind.c_str(), http.port());
    std::fflush(stdout);
    wait_for_shutdown();
    http.stop();
    follower.stop();
    log::info("replica.stopped");
    return 0;
}
