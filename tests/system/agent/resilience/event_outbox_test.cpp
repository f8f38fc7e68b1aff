// An event the outbox cannot store is not lost (issue 11 item 5): the real agent process,
// its real SQLite file, a trigger in that file that makes the outbox refuse events for a
// while, and the test as the HIS pushing doctors over real MLLP. The push whose change
// set could not be stored upstream is answered AE; its change set stays pending and goes
// out, in seq order, with the next one. Before the fix the push was answered AA and the
// control plane saw seqs 2 and 4, never 3.
#include <catch2/catch.hpp>

#include <set>

#include "common/sqlite.h"
#include "control_plane_client.h"
#include "tests/support/hl7_push.h"
#include "tests/support/system.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::test::hl7_push;
using namespace std::chrono_literals;

namespace {
// Change sets seen by the control plane, by seq (each once; a repeat would be counted).
std::map<int64_t, std::vector<nlohmann::json>> changesets(test::ControlPlaneClient& cp) {
    std::map<int64_t, std::vector<nlohmann::json>> out;
    for (const auto& e : cp.events())
        if (e.type == "reference.changeset") out[e.body["seq"].get<int64_t>()].push_back(e.body);
    return out;
}

bool holds_doctor(const nlohmann::json& changeset, const std::string& id) {
    for (const auto& c : changeset["changes"])
        if (c.value("entity", "") == "doctor" && c.value("key", "") == id) return true;
    return false;
}
}  // namespace

TEST_CASE("events: a change set the outbox refuses stays pending, its push is answered AE, and no seq is lost") {
    uint16_t push_port = test::free_port();
    test::System sys({.hospitals = {"H001"},
                      .more_params = {{"H001", R"({"extraction": {"interval": "1h", "push": {"listen": "127.0.0.1:)" +
                                                       std::to_string(push_port) + R"("}}})"}}});
    REQUIRE(sys.start());
    test::ControlPlaneClient cp(sys.broker(), "H001");
    REQUIRE(cp.connect());
    REQUIRE(test::wait_port_open(push_port, 10s));
    FakeHis his(push_port);

    // seq 1 is the first pull (it may have gone out before the test subscribed); seq 2 a push.
    CHECK(his.send(doctor_message("P1", "MAD", "DOC-A", "DEP-X")).code == "AA");
    REQUIRE(test::eventually([&] { return changesets(cp).count(2) == 1; }, 20s));

    // The agent's own file refuses events from now on (answers still pass).
    auto db = sql::Db::open(sys.dir() + "/data/agent-H001.db");
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TRIGGER refuse_events BEFORE INSERT ON outbox WHEN NEW.topic = '" +
                     topics::event("H001") + "' BEGIN SELECT RAISE(ABORT, 'injected: the outbox is full'); END")
                .ok());
    auto refused = his.send(doctor_message("P2", "MAD", "DOC-B", "DEP-X"));
    CHECK(refused.code == "AE");  // before the fix: AA, and seq 3 was gone
    CHECK(refused.text.find("send it again") != std::string::npos);

    REQUIRE(db->exec("DROP TRIGGER refuse_events").ok());
    CHECK(his.send(doctor_message("P3", "MAD", "DOC-C", "DEP-X")).code == "AA");
    REQUIRE(test::eventually([&] { return changesets(cp).count(4) == 1; }, 20s));
    // The HIS sends the refused push again, as AE asks: nothing new to apply, nothing twice.
    CHECK(his.send(doctor_message("P2", "MAD", "DOC-B", "DEP-X")).code == "AA");

    auto seen = changesets(cp);
    std::set<int64_t> seqs;
    for (const auto& [seq, copies] : seen) {
        CHECK(copies.size() == 1);
        if (seq >= 2) seqs.insert(seq);
    }
    CHECK(seqs == std::set<int64_t>{2, 3, 4});
    REQUIRE(seen.count(3));
    CHECK(holds_doctor(seen[3].front(), "DOC-B"));
    CHECK(holds_doctor(seen[4].front(), "DOC-C"));
    // In the order they were made: 3 reached the control plane before 4.
    std::vector<int64_t> order;
    for (const auto& e : cp.events())
        if (e.type == "reference.changeset") order.push_back(e.body["seq"].get<int64_t>());
    CHECK(std::is_sorted(order.begin(), order.end()));
}
