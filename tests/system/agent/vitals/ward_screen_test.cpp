// The control plane's side of the ward (issue 18 item 4), whole and real: monitor-sim →
// the agent's gateway → Mosquitto → the control plane's vitals store, beds API, live feed
// (Server-Sent Events read over a real socket), alarm escalation and audited acknowledge;
// a monitor that goes silent shows offline.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <mutex>

#include "tests/support/event_stream.h"
#include "vitals_ward.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// The feed's events, kept as they arrive (tests/support/event_stream.h reads them).
class FeedReader {
public:
    FeedReader(uint16_t port, const std::string& path, const std::string& token)
        : stream_(port, path, {{"Authorization", "Bearer " + token}}, [this](const std::string& event, const std::string& data) {
              std::lock_guard lock(mu_);
              events_.push_back({event, nlohmann::json::parse(data, nullptr, false)});
          }) {}
    int status() const { return stream_.status(); }
    std::string content_type() const { return stream_.content_type(); }
    std::vector<std::pair<std::string, nlohmann::json>> events() {
        std::lock_guard lock(mu_);
        return events_;
    }
    bool saw(const std::function<bool(const std::string&, const nlohmann::json&)>& match) {
        for (const auto& [name, data] : events())
            if (match(name, data)) return true;
        return false;
    }

private:
    std::mutex mu_;
    std::vector<std::pair<std::string, nlohmann::json>> events_;
    test::EventStream stream_;  // last: its thread stops before the events go
};

nlohmann::json bed_of(const nlohmann::json& beds, const std::string& bed) {
    for (const auto& b : beds["beds"])
        if (b["bed"] == bed) return b;
    return nullptr;
}
}  // namespace

TEST_CASE("ward screen: beds with latest values, a live feed, escalation until acknowledged (audited), and a silent monitor shown offline") {
    test::VitalsWard ward(nlohmann::json::object(), {{"vitals", {{"escalate_after_ms", 2000}}}});
    REQUIRE(ward.start());
    auto& sys = ward.sys();
    auto& sim = ward.add_sim("ward", {{"monitors", 2}, {"alarm_every", 5}});

    nlohmann::json beds;
    REQUIRE(test::eventually([&] {
        auto r = sys.get("/api/v1/vitals/beds?hospital=H001");
        if (r.status != 200) return false;
        beds = nlohmann::json::parse(r.body);
        for (const char* b : {"BED-001", "BED-002"}) {
            auto bed = bed_of(beds, b);
            if (bed.is_null() || !bed["online"].get<bool>() || bed["values"].size() < 5) return false;
        }
        return true;
    }, 40s));
    auto bed1 = bed_of(beds, "BED-001");
    CHECK(bed1["monitors"][0]["device"] == "MON-0001");
    bool heart_rate = false;
    for (const auto& v : bed1["values"])
        if (v["name"] == "heart_rate") heart_rate = v["unit"] == "/min" && v["value"].get<double>() >= 40;
    CHECK(heart_rate);

    // The live feed: samples and alarms as they are stored.
    FeedReader feed(sys.api_port(), "/api/v1/vitals/feed?hospital=H001&bed=BED-001", sys.token("viewer", "ward-screen"));
    REQUIRE(feed.status() == 200);
    CHECK(feed.content_type() == "text/event-stream");
    REQUIRE(test::eventually([&] {
        return feed.saw([](const std::string& e, const nlohmann::json& d) { return e == "vitals" && d["bed"] == "BED-001"; }) &&
               feed.saw([](const std::string& e, const nlohmann::json& d) { return e == "alarm" && d["bed"] == "BED-001"; });
    }, 20s));
    CHECK_FALSE(feed.saw([](const std::string&, const nlohmann::json& d) { return d.contains("bed") && d["bed"] == "BED-002"; }));

    // An alarm nobody acknowledges escalates (after 2 s here), with an audit entry.
    nlohmann::json escalated;
    REQUIRE(test::eventually([&] {
        auto r = sys.get("/api/v1/vitals/alarms?hospital=H001&open=true&limit=500");
        if (r.status != 200) return false;
        auto alarms = nlohmann::json::parse(r.body)["alarms"];
        for (const auto& a : alarms)
            if (a["escalation"].get<int>() >= 1 && a["bed"] == "BED-001") escalated = a;
        return !escalated.is_null();
    }, 20s));
    const std::string id = std::to_string(escalated["id"].get<int64_t>());
    CHECK((escalated["priority"] == "high" || escalated["priority"] == "medium" || escalated["priority"] == "low"));

    // A viewer may not acknowledge; an operator does, once; a patient sees nothing here.
    CHECK(sys.post("/api/v1/vitals/alarms/" + id + "/acknowledge", "{}", sys.bearer("viewer", "v")).status == 403);
    CHECK(sys.get("/api/v1/vitals/beds?hospital=H001", sys.bearer("patient", "P1")).status == 403);
    auto acked = sys.post("/api/v1/vitals/alarms/" + id + "/acknowledge", "{}", sys.bearer("operator", "nurse-li"));
    REQUIRE(acked.status == 200);
    CHECK(nlohmann::json::parse(acked.body)["acknowledged"]["by"] == "nurse-li");
    CHECK(sys.post("/api/v1/vitals/alarms/" + id + "/acknowledge", "{}", sys.bearer("operator", "nurse-li")).code() ==
          "vitals.alarm_acknowledged");
    auto audit = nlohmann::json::parse(sys.get("/api/v1/vitals/audit?hospital=H001&limit=1000").body)["audit"];
    bool acknowledged = false, escalation = false;
    for (const auto& e : audit) {
        if (std::to_string(e["alarmId"].get<int64_t>()) != id) continue;
        if (e["action"] == "acknowledge") acknowledged = e["who"] == "nurse-li" && e["from"] == "127.0.0.1";
        if (e["action"] == "escalate") escalation = true;
    }
    CHECK(acknowledged);
    CHECK(escalation);
    REQUIRE(test::eventually([&] {
        return feed.saw([&](const std::string& e, const nlohmann::json& d) {
            return e == "alarm" && d["change"] == "acknowledged" && std::to_string(d["id"].get<int64_t>()) == id;
        });
    }, 10s));

    // History: raw points and minute rollups of the bed's heart rate.
    auto raw = nlohmann::json::parse(sys.get("/api/v1/vitals/beds/BED-001/history?hospital=H001&name=heart_rate").body);
    CHECK(raw["points"].size() >= 5);
    auto minutes = nlohmann::json::parse(
        sys.get("/api/v1/vitals/beds/BED-001/history?hospital=H001&name=heart_rate&resolution=minute").body);
    REQUIRE(minutes["points"].size() >= 1);
    CHECK(minutes["points"][0]["count"].get<int>() >= 1);
    // The same samples as FHIR R4 vital-signs Observations.
    auto fhir = sys.get("/api/v1/vitals/beds/BED-001/observations?hospital=H001&limit=200");
    REQUIRE(fhir.status == 200);
    CHECK(fhir.headers["Content-Type"].rfind("application/fhir+json", 0) == 0);
    auto bundle = nlohmann::json::parse(fhir.body);
    CHECK(bundle["resourceType"] == "Bundle");
    bool loinc_heart_rate = false;
    for (const auto& e : bundle["entry"])
        if (e["resource"]["code"].contains("coding") && e["resource"]["code"]["coding"][0]["code"] == "8867-4")
            loinc_heart_rate = true;
    CHECK(loinc_heart_rate);
    CHECK(sys.get("/api/v1/vitals/beds?hospital=H001&color=red").code() == "vitals.bad_query");
    CHECK(sys.get("/api/v1/vitals/beds/BED-001/history?hospital=H001&name=heart_rate&resolution=week").code() ==
          "vitals.bad_query");

    // The monitors go silent (their simulator stops): the beds show offline, and the feed says so.
    auto silent_at = std::chrono::steady_clock::now();
    sim.stop();
    REQUIRE(test::eventually([&] {
        auto bed = bed_of(nlohmann::json::parse(sys.get("/api/v1/vitals/beds?hospital=H001").body), "BED-001");
        return !bed.is_null() && !bed["online"].get<bool>();
    }, 20s));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - silent_at);
    WARN("BED-001 shown offline " << took.count() << " ms after its monitor went silent");
    REQUIRE(test::eventually([&] {
        return feed.saw([](const std::string& e, const nlohmann::json& d) {
            return e == "monitor" && d["device"] == "MON-0001" && !d["online"].get<bool>();
        });
    }, 10s));
}
