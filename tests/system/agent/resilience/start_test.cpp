// Starting is all or nothing: a step that fails late in Agent::start (here the metrics
// port, the last thing the agent opens, held by someone else) stops every part that had
// started, latest first; the program exits 2 with the reason.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "agent/agent.h"
#include "agent/agent_config.h"
#include "common/config.h"
#include "control_plane_client.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A loopback port another program listens on (without SO_REUSEPORT, so none can share it).
class TakenPort {
public:
    explicit TakenPort(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd_, 1) == 0;
    }
    ~TakenPort() {
        if (fd_ >= 0) close(fd_);
    }
    bool ok() const { return ok_; }

private:
    int fd_;
    bool ok_ = false;
};

// Probes and extraction on, so every part of the agent starts.
test::SystemOptions every_part() {
    return {.hospitals = {"H001"},
            .more_params = {{"H001", R"({"probes": [{"path": "report", "operation": "get_report",
                                                      "cases": ["R-DEMO-1"], "interval": "1h"}]})"}}};
}

// The agent's own threads in this process, by the names they give themselves.
std::vector<std::string> agent_threads() {
    std::vector<std::string> names;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
        std::string name = test::read_file(task.path() / "comm");
        name.erase(std::remove(name.begin(), name.end(), '\n'), name.end());
        for (const char* ours : {"queue-", "store-", "outbox-", "presence", "probes", "extraction"})
            if (name.rfind(ours, 0) == 0) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool has(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

agent::AgentConfig config_of(test::System& sys) {
    auto reader = ConfigReader::load_file(sys.dir() + "/etc/agent-H001.json");
    REQUIRE(reader.ok());
    auto cfg = agent::read_agent_config(reader.value());
    REQUIRE(cfg.ok());
    return std::move(cfg.value());
}

}  // namespace

TEST_CASE("start: a failed start stops every thread it had started, and the agent can be destroyed after") {
    test::System sys(every_part());
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    REQUIRE(agent_threads().empty());
    {
        // A start that succeeds: every thread the check below looks for is there to see.
        agent::Agent whole(config_of(sys));
        REQUIRE(whole.start().ok());
        auto running = agent_threads();
        INFO(::Catch::Detail::stringify(running));
        for (const char* name : {"queue-worker", "queue-dispatch", "queue-timer", "store-writer", "outbox-forward",
                                 "presence", "probes", "extraction"})
            CHECK(has(running, name));
        whole.stop();
    }
    CHECK(agent_threads().empty());

    TakenPort taken(sys.agent_metrics_port("H001"));
    REQUIRE(taken.ok());
    agent::Agent half(config_of(sys));
    auto started = half.start();
    REQUIRE_FALSE(started.ok());
    CHECK(started.error().code == "http.bind_failed");
    // The agent object still exists: start() itself stopped what it had started.
    INFO(::Catch::Detail::stringify(agent_threads()));
    CHECK(agent_threads().empty());
    half.stop();  // nothing to stop: a no-op
}

TEST_CASE("start: the program exits 2 with the reason when its metrics port is taken, having undone every part") {
    test::System sys(every_part());
    REQUIRE(sys.broker().start());
    REQUIRE(sys.start_sim("H001"));
    TakenPort taken(sys.agent_metrics_port("H001"));
    REQUIRE(taken.ok());
    REQUIRE(sys.start_agent("H001"));
    int status = sys.agent("H001").wait_exit(30s);
    CHECK(status == 2);
    auto out = sys.agent("H001").output();
    CHECK_THAT(out, Catch::Contains("hisgate-agent: http.bind_failed"));
    CHECK_THAT(out, Catch::Contains(std::to_string(sys.agent_metrics_port("H001"))));

    // The log names what was undone, latest first.
    std::optional<json> failed;
    bool connected = false;
    std::istringstream log(test::read_file(sys.log_dir() + "/agent-H001.log"));
    for (std::string line; std::getline(log, line);) {
        auto entry = json::parse(line, nullptr, false);
        if (entry.is_discarded()) continue;
        if (entry.value("event", "") == "agent.start_failed") failed = entry;
        if (entry.value("event", "") == "mqtt.connected") connected = true;
    }
    REQUIRE(failed);
    INFO(failed->dump());
    CHECK((*failed)["undone"] == json::array({"extraction", "probes", "broker", "presence", "outbox", "queue", "store"}));
    // If it reached the broker, the state it left there says offline.
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());
    bool retained = test::eventually([&] { return !cp.states().empty(); }, 3s);
    if (connected) CHECK(retained);
    for (const auto& state : cp.states()) {
        INFO(state.to_json());
        CHECK(state.body["online"] == false);
    }
}
