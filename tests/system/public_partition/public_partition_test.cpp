// The public partition end to end (issue 14), every part a real process: Mosquitto, his-sim
// and an agent per hospital, the control plane as primary, and read replicas
// (hisgate-replica) following its stream and serving search.
//
//   - reference data reaches every replica, and a change at a HIS arrives there;
//   - a change set the control plane never received (lost with a broker restart) opens a
//     gap that the control plane closes by asking the agent;
//   - an idle replica reports zero lag (heartbeats), a stopped primary makes it grow, a
//     replica catching up reports entries behind;
//   - a replica whose rows were changed behind its back finds out and re-seeds while
//     another keeps serving; a new replica joins by snapshot;
//   - min_seq (read-your-writes) and CJK search.
#include <catch2/catch.hpp>

#include <csignal>
#include <sqlite3.h>

#include "tests/support/system.h"
#include "tests/support/replica.h"

using namespace hisgate;
using namespace hisgate::test;
using namespace std::chrono_literals;

namespace {

// H001 speaks HL7 in UTF-8 with English names, H002 GB 18030 with Chinese ones (his-sim seeds them).
SystemOptions two_hospitals(const std::string& controlplane_config = "{}") {
    SystemOptions o;
    o.hospitals = {"H001", "H002"};
    o.his_params = {{"H002", R"({"charset": "GB 18030-2000"})"}};
    o.more_params = {{"H001", R"({"hospital": {"id": "H001", "region": "south", "name": "South General"},
                                   "extraction": {"interval": "10s"}})"},
                     {"H002", R"({"hospital": {"id": "H002", "region": "north", "name": "北方医院"},
                                   "extraction": {"interval": "10s"}})"}};
    o.controlplane_config = controlplane_config;
    return o;
}

nlohmann::json search(const Replica& r, const std::string& query, int* status = nullptr) {
    return r.get_json("/api/v1/search/" + query, status);
}

size_t items(const nlohmann::json& answer) {
    return answer.is_object() && answer.contains("items") && answer["items"].is_array() ? answer["items"].size() : 0;
}

// The primary's metrics page.
std::string primary_metrics(System& s) { return s.get("/metrics").body; }

// A doctor added at the HIS through his-sim's control API.
bool add_doctor(System& s, const std::string& hospital, const std::string& id, const std::string& name) {
    auto r = http_send(s.sim_control_port(hospital), "PUT", "/doctors/" + id,
                       nlohmann::json{{"departmentId", "D-INT"}, {"name", name}, {"title", "Attending"}}.dump());
    return r.status == 200 || r.status == 201 || r.status == 204;
}

bool has_doctor(const Replica& r, const std::string& hospital, const std::string& name) {
    auto a = search(r, "doctors?hospital=" + hospital + "&q=" + name);
    for (const auto& d : a.value("items", nlohmann::json::array()))
        if (d.value("name", "") == name) return true;
    return false;
}

}  // namespace

TEST_CASE("public partition: reference data reaches every replica, and a change at a HIS arrives", "[system]") {
    System s(two_hospitals());
    REQUIRE(s.start());
    Replica r1, r2;
    REQUIRE(r1.start(s, "r1"));
    REQUIRE(r2.start(s, "r2"));
    for (auto* r : {&r1, &r2}) {
        CHECK(eventually([&] { return items(search(*r, "hospitals")) == 2; }, 30s));
        CHECK(eventually([&] { return items(search(*r, "doctors?hospital=H002")) > 0; }, 30s));
    }
    auto answer = search(r1, "doctors?hospital=H001");
    REQUIRE(answer.contains("freshness"));
    CHECK(answer["freshness"]["replica"] == "r1");
    CHECK(answer["freshness"]["position"].get<int64_t>() > 0);
    // The patient portal, served from the control plane's origin, reads search from the
    // browser (docs/portal.md): public data, no credentials, any origin.
    auto headers = http_get(r1.port, "/api/v1/search/hospitals").headers;
    CHECK(headers["Access-Control-Allow-Origin"] == "*");

    REQUIRE(add_doctor(s, "H001", "D900", "Newman"));
    // The agent's next pull (every 10 s at the most frequent) brings it.
    for (auto* r : {&r1, &r2}) CHECK(eventually([&] { return has_doctor(*r, "H001", "Newman"); }, 30s));
    // Each hospital's first change set came before the control plane subscribed: it arrives
    // as the agent's snapshot (or the change set itself), Newman's as a change set; none refused.
    auto page = primary_metrics(s);
    CHECK(metric_value(page, "hisgate_public_changesets_total{outcome=\"applied\"}") +
              metric_value(page, "hisgate_public_changesets_total{outcome=\"snapshot\"}") >= 3);
    CHECK(metric_value(page, "hisgate_public_changesets_total{outcome=\"refused\"}") == 0);
}

namespace {
int64_t agent_last_seq(System& s, const std::string& hospital) {
    return static_cast<int64_t>(
        metric_value(http_get(s.agent_metrics_port(hospital), "/metrics").body, "hisgate_extraction_last_seq"));
}
}  // namespace

TEST_CASE("public partition: a change set the control plane never got opens a gap, which it closes by asking the agent", "[system]") {
    SystemOptions o = two_hospitals(R"({"public": {"repair_interval_ms": 500}})");
    o.hospitals = {"H001"};
    System s(o);
    REQUIRE(s.start());
    Replica r1;
    REQUIRE(r1.start(s, "r1"));
    REQUIRE(eventually([&] { return items(search(r1, "doctors?hospital=H001")) > 0; }, 30s));

    // The control plane is away when the agent publishes a change set, and the broker then
    // loses it (killed before it saved its queue): the agent had its PUBACK, so it will not
    // send it again by itself.
    s.controlplane(0).kill9();
    const int64_t before = agent_last_seq(s, "H001");
    REQUIRE(add_doctor(s, "H001", "D901", "Lostman"));
    REQUIRE(eventually([&] { return agent_last_seq(s, "H001") > before; }, 30s));
    std::this_thread::sleep_for(500ms);  // the broker has it queued for the control plane's session
    s.broker().kill9();
    REQUIRE(s.broker().start());
    REQUIRE(s.start_controlplane(0));
    REQUIRE(eventually([&] { return s.online_hospitals().size() == 1; }, 30s));

    // The next change set comes after the lost one: a gap, repaired from the agent's history.
    REQUIRE(add_doctor(s, "H001", "D902", "Foundman"));
    CHECK(eventually([&] { return has_doctor(r1, "H001", "Foundman"); }, 40s));
    CHECK(eventually([&] { return has_doctor(r1, "H001", "Lostman"); }, 20s));
    auto page = primary_metrics(s);
    CHECK(metric_value(page, "hisgate_public_changesets_total{outcome=\"held\"}") >= 1);
    CHECK(metric_value(page, "hisgate_public_repairs_total{outcome=\"range\"}") >= 1);
    CHECK(metric_value(page, "hisgate_public_gaps") == 0);
    auto fleet = nlohmann::json::parse(s.get("/api/v1/fleet").body);
    CHECK(fleet["hospitals"][0]["reference"]["gap"].is_null());
    CHECK_FALSE(fleet["hospitals"][0]["reference"]["suspect"].get<bool>());
}

TEST_CASE("public partition: replicas report their lag, idle and behind, and a silent primary makes it grow", "[system]") {
    System s(two_hospitals());
    REQUIRE(s.start());
    Replica r1;
    REQUIRE(r1.start(s, "r1", R"({"follow": {"silence_ms": 1000}})"));
    REQUIRE(eventually([&] { return items(search(r1, "doctors?hospital=H002")) > 0; }, 30s));
    // Idle: the primary's heartbeats keep the lag at zero, not growing.
    std::this_thread::sleep_for(3s);
    auto idle = r1.status();
    CHECK(idle["lag"]["entries"] == 0);
    CHECK(idle["lag"]["seconds"].get<double>() == 0.0);
    CHECK(idle["state"] == "following");

    // Behind: while the replica is stopped, the hospital changes; the primary sees the
    // replica's position fall behind its head, and the replica, resumed, catches up.
    REQUIRE(::kill(r1.process.pid(), SIGSTOP) == 0);
    REQUIRE(add_doctor(s, "H001", "D903", "Laterman"));
    CHECK(eventually([&] {
        auto fleet = nlohmann::json::parse(s.get("/api/v1/fleet").body, nullptr, false);
        if (fleet.is_discarded() || !fleet["publicPartition"].is_object()) return false;
        for (const auto& r : fleet["publicPartition"]["replicas"])
            if (r["name"] == "replica-r1" && r["lagEntries"].get<int64_t>() >= 1) return true;
        return false;
    }, 30s));
    REQUIRE(::kill(r1.process.pid(), SIGCONT) == 0);
    CHECK(eventually([&] { return has_doctor(r1, "H001", "Laterman"); }, 10s));
    CHECK(eventually([&] { return r1.status()["lag"]["entries"] == 0; }, 10s));

    // A primary that says nothing: the replica cannot know what it misses, and says so.
    REQUIRE(::kill(s.controlplane(0).pid(), SIGSTOP) == 0);
    CHECK(eventually([&] { return r1.status()["lag"]["seconds"].get<double>() > 1.0; }, 10s));
    REQUIRE(::kill(s.controlplane(0).pid(), SIGCONT) == 0);
    CHECK(eventually([&] { return r1.status()["lag"]["seconds"].get<double>() == 0.0; }, 15s));
}

TEST_CASE("public partition: a replica whose rows changed behind its back re-seeds while another serves, and a new one joins by snapshot", "[system]") {
    System s(two_hospitals());
    REQUIRE(s.start());
    Replica r1, r2;
    REQUIRE(r1.start(s, "r1", R"({"follow": {"check_interval_ms": 500}})"));
    REQUIRE(r2.start(s, "r2"));
    for (auto* r : {&r1, &r2}) REQUIRE(eventually([&] { return items(search(*r, "doctors?hospital=H001")) > 0; }, 30s));
    const auto before = r1.status();

    // Someone edits r1's file by hand: its rows no longer sum to its checksum. r1 is paused
    // meanwhile; a pause that lands inside one of its write transactions leaves the file
    // locked, so it is let run a moment and paused again until the edit gets through.
    int edited = SQLITE_BUSY;
    for (int attempt = 0; attempt < 100 && edited == SQLITE_BUSY; ++attempt) {
        REQUIRE(::kill(r1.process.pid(), SIGSTOP) == 0);
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(r1.db.c_str(), &db) == SQLITE_OK);
        sqlite3_busy_timeout(db, 200);
        edited = sqlite3_exec(db, "UPDATE ref_doctors SET data = '{\"doctorId\":\"forged\"}' WHERE row_id = (SELECT min(row_id) FROM ref_doctors)",
                              nullptr, nullptr, nullptr);
        sqlite3_close(db);
        if (edited == SQLITE_BUSY) {
            REQUIRE(::kill(r1.process.pid(), SIGCONT) == 0);
            std::this_thread::sleep_for(50ms);
        }
    }
    CHECK(edited == SQLITE_OK);
    REQUIRE(::kill(r1.process.pid(), SIGCONT) == 0);
    CHECK(eventually([&] {
        auto st = r1.status();
        return st.is_object() && st["divergences"].get<int64_t>() > before["divergences"].get<int64_t>() &&
               st["reseeds"].get<int64_t>() > before["reseeds"].get<int64_t>() && st["state"] == "following";
    }, 20s));
    // r2 served all along; r1 serves the primary's rows again.
    int status = 0;
    search(r2, "doctors?hospital=H001", &status);
    CHECK(status == 200);
    CHECK(eventually([&] { return r1.status()["checksum"] == r2.status()["checksum"]; }, 10s));

    // A new replica joins: a snapshot, then the stream.
    Replica r3;
    REQUIRE(r3.start(s, "r3"));
    CHECK(eventually([&] { return r3.status()["reseeds"] == 1 && r3.position() == r2.position(); }, 20s));
    CHECK(items(search(r3, "hospitals")) == 2);
}

TEST_CASE("public partition: min_seq reads your writes, and Chinese names are found by a character and by pinyin", "[system]") {
    System s(two_hospitals());
    REQUIRE(s.start());
    Replica r1;
    REQUIRE(r1.start(s, "r1", R"({"search": {"min_seq_wait_ms": 300}})"));
    REQUIRE(eventually([&] { return items(search(r1, "doctors?hospital=H002")) > 0; }, 30s));
    const int64_t at = r1.position();
    int status = 0;
    auto ahead = search(r1, "hospitals?min_seq=" + std::to_string(at + 1000), &status);
    CHECK(status == 409);
    CHECK(ahead["code"] == "replica.behind");
    search(r1, "hospitals?min_seq=" + std::to_string(at), &status);
    CHECK(status == 200);

    // his-sim's GB 18030 hospital seeds 王芳, 主任医师 (docs/his-sim.md).
    for (const std::string q : {"%E7%8E%8B", "%E8%8A%B3", "wangfang", "wf"}) {
        auto found = search(r1, "doctors?hospital=H002&q=" + q);
        bool wang_fang = false;
        for (const auto& d : found.value("items", nlohmann::json::array())) wang_fang = wang_fang || d.value("name", "") == "王芳";
        CHECK(wang_fang);
    }
    auto bad = search(r1, "slots?from=tomorrow", &status);
    CHECK(status == 400);
    CHECK(bad.dump().find("from") != std::string::npos);
}

namespace {
// Today + `days` as YYYY-MM-DD (UTC: his-sim's hospitals keep UTC).
std::string date_in(int days) {
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + std::chrono::hours(24 * days));
    char out[16];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
    return out;
}

bool has_slot(const Replica& r, const std::string& hospital, const std::string& slot_id, int free) {
    auto a = search(r, "slots?hospital=" + hospital + "&doctor=DR-101&from=" + date_in(0) + "&to=" + date_in(6) + "&limit=100&free=false");
    for (const auto& s : a.value("items", nlohmann::json::array()))
        if (s.value("slotId", "") == slot_id && s.value("free", -1) == free) return true;
    return false;
}
}  // namespace

TEST_CASE("public partition: a change the HIS pushes (SIU, MFN over MLLP) reaches the replicas without waiting for a pull", "[system]") {
    // No pull for an hour after the first: whatever arrives came by push. his-sim reads the
    // same parameters and pushes each control-API change to extraction.push.listen.
    SystemOptions o = two_hospitals();
    o.hospitals = {"H001"};
    o.more_params = {{"H001", R"({"hospital": {"id": "H001", "region": "south", "name": "South General"},
                                   "extraction": {"interval": "1h", "push": {"listen": "127.0.0.1:)" +
                                  std::to_string(free_port()) + R"("}}})"}};
    System s(o);
    REQUIRE(s.start());
    Replica r1;
    REQUIRE(r1.start(s, "r1"));
    REQUIRE(eventually([&] { return items(search(r1, "doctors?hospital=H001")) > 0; }, 30s));

    const nlohmann::json slot = {{"doctorId", "DR-101"}, {"departmentId", "D-INT"}, {"date", date_in(2)},
                                 {"start", "15:00"}, {"end", "15:30"}, {"half", "PM"}, {"capacity", 5},
                                 {"booked", 1}, {"feeCents", 2550}};
    auto put = http_send(s.sim_control_port("H001"), "PUT", "/slots/S-PUSH-1", slot.dump());
    REQUIRE(put.status == 200);
    auto answer = nlohmann::json::parse(put.body);
    CHECK(answer["push"]["ack"] == "AA");
    CHECK(eventually([&] { return has_slot(r1, "H001", "S-PUSH-1", 4); }, 15s));

    // Booked out, then withdrawn: SIU^S12 again, then SIU^S17.
    auto full = slot;
    full["booked"] = 5;
    REQUIRE(http_send(s.sim_control_port("H001"), "PUT", "/slots/S-PUSH-1", full.dump()).status == 200);
    CHECK(eventually([&] { return has_slot(r1, "H001", "S-PUSH-1", 0); }, 15s));
    auto gone = http_send(s.sim_control_port("H001"), "DELETE", "/slots/S-PUSH-1", "");
    REQUIRE(gone.status == 200);
    CHECK(nlohmann::json::parse(gone.body)["push"]["ack"] == "AA");
    CHECK(eventually([&] { return !has_slot(r1, "H001", "S-PUSH-1", 0); }, 15s));

    // A doctor by MFN^M02.
    REQUIRE(add_doctor(s, "H001", "D-PUSHED", "Pushman"));
    CHECK(eventually([&] { return has_doctor(r1, "H001", "Pushman"); }, 15s));
    // Every one of them came as a push change set: the agent counted no pull but its first.
    auto agent_page = http_get(s.agent_metrics_port("H001"), "/metrics").body;
    CHECK(metric_value(agent_page, "hisgate_extraction_changesets_total{source=\"push\"}") >= 4);
}
