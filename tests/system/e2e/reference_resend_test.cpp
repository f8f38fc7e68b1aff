// The public partition catching up with an agent (issue 14): reference.changesets and
// reference.snapshot sent over MQTT to a real agent in front of a real his-sim, and a
// doctor changed on his-sim's control API arriving in the next change set.
#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tests/support/system.h"
#include "transport/envelope.h"
#include "transport/mqtt_link.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

// Plays a control plane instance asking H001 directly.
class Asker {
public:
    explicit Asker(test::Broker& b) : link_(options(b)) {
        link_.subscribe(topics::response("H001", "resend"));
        link_.on_message([this](const IncomingMessage& m) {
            std::lock_guard l(mu_);
            replies_[m.correlation_data] = m.payload;
        });
        link_.start();
        REQUIRE(link_.wait_connected(10s));
    }
    // The reply envelope, parsed.
    nlohmann::json ask(const std::string& type, const nlohmann::json& body) {
        auto msg = OutgoingMessage::to(topics::request("H001"), Envelope::make(type, "H001", body).to_json());
        msg.response_topic = topics::response("H001", "resend");
        msg.correlation_data = "c-" + std::to_string(++n_);
        REQUIRE(link_.publish(msg).ok());
        std::string payload;
        REQUIRE(test::eventually([&] {
            std::lock_guard l(mu_);
            auto it = replies_.find(msg.correlation_data);
            if (it == replies_.end()) return false;
            payload = it->second;
            return true;
        }, 20s));
        auto doc = nlohmann::json::parse(payload, nullptr, false);
        REQUIRE(doc.is_object());
        return doc;
    }
    nlohmann::json body(const std::string& type, const nlohmann::json& request) {
        auto reply = ask(type, request);
        INFO(reply.dump().substr(0, 2000));
        REQUIRE_FALSE(reply.contains("error"));
        return reply["body"];
    }

private:
    static MqttOptions options(test::Broker& b) {
        MqttOptions o;
        o.uri = b.uri();
        o.client_id = "probe-controlplane-test";
        o.username = "controlplane-test";
        o.password = b.password("controlplane-test");
        o.ca_file = b.ca_file();
        return o;
    }
    MqttLink link_;
    std::mutex mu_;
    std::map<std::string, std::string> replies_;
    int n_ = 0;
};

using Replica = std::map<std::pair<std::string, std::string>, nlohmann::json>;
void apply(Replica& r, const nlohmann::json& cs) {
    for (const auto& c : cs["changes"]) {
        std::pair<std::string, std::string> k{c["entity"], c["key"]};
        if (c["op"] == "upsert") r[k] = c["data"];
        else r.erase(k);
    }
}

}  // namespace

TEST_CASE("e2e reference: an agent serves its change sets and snapshot over MQTT, and a doctor changed at the HIS arrives") {
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"hospital": {"id": "H001", "region": "south", "name": "First People's Hospital",
                                                                 "city": "Guangzhou", "level": "3A"},
                                                    "extraction": {"interval": "10s"}})"}}});
    REQUIRE(sys.start());
    Asker cp(sys.broker());
    // The first pull runs as the agent starts.
    int64_t last = 0;
    REQUIRE(test::eventually([&] {
        last = cp.body("reference.changesets", {{"fromSeq", 1}, {"toSeq", 1}})["lastSeq"].get<int64_t>();
        return last >= 1;
    }, 30s));

    auto snap = cp.body("reference.snapshot", nlohmann::json::object());
    CHECK(snap["schema"] == 1);
    CHECK(snap["hospital"] == "H001");
    const int64_t seq = snap["seq"].get<int64_t>();
    REQUIRE(seq >= 1);
    auto range = cp.body("reference.changesets", {{"fromSeq", 1}, {"toSeq", seq}});
    CHECK(range["complete"] == true);
    REQUIRE(range["changesets"].size() == static_cast<size_t>(seq));
    Replica replica, snapshot;
    for (const auto& cs : range["changesets"]) apply(replica, cs);
    for (const auto& r : snap["records"]) snapshot[{r["entity"], r["key"]}] = r["data"];
    CHECK(snapshot == replica);
    REQUIRE(snapshot.count({"hospital", "H001"}));
    CHECK(snapshot[{"hospital", "H001"}] == nlohmann::json{{"hospitalId", "H001"}, {"name", "First People's Hospital"},
                                                           {"region", "south"}, {"city", "Guangzhou"}, {"level", "3A"}});
    // Bad input is refused by the agent, naming the field.
    auto bad = cp.ask("reference.changesets", {{"fromSeq", 0}, {"toSeq", 3}});
    CHECK(bad["error"]["code"] == "reference.bad_range");

    // The hospital's staff add a doctor; the next pull (10 s) publishes it.
    auto put = test::http_send(sys.sim_control_port("H001"), "PUT", "/doctors/DR-777",
                               R"({"departmentId": "D-CAR", "name": "Dr. Gao Yan", "title": "Attending physician"})");
    INFO(put.body);
    REQUIRE(put.status == 200);
    nlohmann::json arrived;
    REQUIRE(test::eventually([&] {
        auto next = cp.body("reference.changesets", {{"fromSeq", seq + 1}, {"toSeq", seq + 100}});
        for (const auto& cs : next["changesets"])
            for (const auto& c : cs["changes"])
                if (c["entity"] == "doctor" && c["key"] == "DR-777") arrived = c;
        return arrived.is_object();
    }, 40s));
    CHECK(arrived["op"] == "upsert");
    CHECK(arrived["data"]["name"] == "Dr. Gao Yan");
    CHECK(arrived["data"]["departmentId"] == "D-CAR");
}
