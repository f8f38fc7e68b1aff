// The control plane's side of bedside vitals (issue 18 item 4): batches read within
// bounds, stored once on a real SQLite file with minute and hour rollups, the latest value
// that never goes back in time, alarms whose priority is never lowered, acknowledge and
// silence audited, escalation and retention by a stepped clock; the monitor board's
// offline within the silent time; the ward feed's filters and its bound.
#include <catch2/catch.hpp>

#include "controlplane/vitals/fhir_observation.h"
#include "controlplane/vitals/monitor_board.h"
#include "controlplane/vitals/vitals_batch.h"
#include "controlplane/vitals/vitals_intake.h"
#include "controlplane/vitals/vitals_store.h"
#include "controlplane/vitals/ward_feed.h"
#include "common/sqlite.h"
#include "tests/support/process.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::controlplane::vitals;
using namespace std::chrono_literals;

namespace {
const int64_t kT0 = 1767571200000;  // 2026-01-05 00:00 UTC, ManualClock's start

nlohmann::json sample(int64_t seq, const std::string& bed, const std::string& name, double value, int64_t at) {
    return {{"seq", seq}, {"kind", "sample"}, {"device", "MON-" + bed}, {"bed", bed}, {"name", name},
            {"unit", "/min"}, {"value", value}, {"observedAt", at}, {"receivedAt", at + 5}};
}
nlohmann::json alarm(int64_t seq, const std::string& bed, const std::string& priority, int64_t at) {
    return {{"seq", seq}, {"kind", "alarm"}, {"device", "MON-" + bed}, {"bed", bed}, {"code", "1002"},
            {"text", "SpO2 Low"}, {"priority", priority}, {"technical", false}, {"observedAt", at}, {"receivedAt", at}};
}
VitalsBatch batch(const std::vector<nlohmann::json>& records) {
    auto b = parse_vitals_batch({{"records", nlohmann::json(records)}});
    REQUIRE(b.ok());
    return b.value();
}

struct Ward {
    std::string dir = test::make_temp_dir("hisgate-vitals");
    ManualClock clock;
    std::unique_ptr<VitalsStore> store;
    explicit Ward(VitalsRetention r = {}) {
        auto opened = open_sqlite_vitals_store(dir + "/vitals.db", r);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
    ~Ward() {
        store.reset();
        std::system(("rm -rf " + dir).c_str());
    }
};
}  // namespace

TEST_CASE("vitals batch: each bad field is refused naming it, and nothing of the batch is read") {
    auto good = sample(1, "BED-1", "heart_rate", 72, kT0);
    struct Case {
        const char* what;
        nlohmann::json body;
        const char* names;
    };
    auto with = [&](const char* field, nlohmann::json v) {
        auto r = good;
        if (v.is_null()) r.erase(field);
        else r[field] = v;
        return nlohmann::json{{"records", {good, r}}};
    };
    std::vector<Case> cases = {
        {"not an object", nlohmann::json::array(), "body"},
        {"no records", nlohmann::json::object(), "body.records"},
        {"value not a number", with("value", "72"), "records[1].value"},
        {"value too large", with("value", 1e12), "records[1].value"},
        {"seq zero", with("seq", 0), "records[1].seq"},
        {"seq missing", with("seq", nullptr), "records[1].seq"},
        {"unknown kind", with("kind", "blob"), "records[1].kind"},
        {"bed too long", with("bed", std::string(65, 'B')), "records[1].bed"},
        {"device with a control character", with("device", std::string("MON\x01")), "records[1].device"},
        {"time before 2000", with("observedAt", 1000), "records[1].observedAt"},
        {"time after 2100", with("observedAt", int64_t{5000000000000}), "records[1].observedAt"},
    };
    auto bad_alarm = alarm(2, "BED-1", "urgent", kT0);
    cases.push_back({"unknown priority", {{"records", {bad_alarm}}}, "records[0].priority"});
    nlohmann::json many = nlohmann::json::array();
    for (int i = 0; i < 5001; ++i) many.push_back(good);
    cases.push_back({"too many records", {{"records", many}}, "at most 5000"});
    for (const auto& c : cases) {
        INFO(c.what);
        auto b = parse_vitals_batch(c.body);
        REQUIRE_FALSE(b.ok());
        CHECK(b.error().code == "vitals.bad_batch");
        CHECK(b.error().message.find(c.names) != std::string::npos);
    }
    auto monitors = parse_monitor_report({{"monitors", {{{"device", ""}, {"state", "connected"}}}}});
    REQUIRE_FALSE(monitors.ok());
    CHECK(monitors.error().message.find("monitors[0].device") != std::string::npos);
}

TEST_CASE("vitals store: a batch delivered twice is stored and rolled up once, and the latest value never goes back") {
    Ward w;
    auto b = batch({sample(1, "BED-1", "heart_rate", 70, kT0), sample(2, "BED-1", "heart_rate", 80, kT0 + 1000),
                    sample(3, "BED-1", "heart_rate", 90, kT0 + 61000), sample(4, "BED-2", "spo2", 97, kT0 + 2000)});
    auto first = w.store->ingest("H001", b, kT0);
    REQUIRE(first.ok());
    CHECK(first->samples.size() == 4);
    auto again = w.store->ingest("H001", b, kT0);
    REQUIRE(again.ok());
    CHECK(again->samples.empty());
    CHECK(again->duplicates == 4);
    CHECK(again->samples_before.size() == 4);  // for the feed of an instance that lost the race
    // The same seq of another hospital is another sample.
    CHECK(w.store->ingest("H002", b, kT0)->samples.size() == 4);

    auto minutes = w.store->history("H001", "BED-1", "heart_rate", Resolution::Minute, kT0, kT0 + 3600000, 100);
    REQUIRE(minutes.ok());
    REQUIRE(minutes->size() == 2);
    CHECK((*minutes)[0].count == 2);
    CHECK((*minutes)[0].value == Approx(75));
    CHECK((*minutes)[0].min == 70);
    CHECK((*minutes)[0].max == 80);
    CHECK((*minutes)[1].count == 1);
    auto hours = w.store->history("H001", "BED-1", "heart_rate", Resolution::Hour, kT0, kT0 + 3600000, 100);
    REQUIRE(hours.ok());
    REQUIRE(hours->size() == 1);
    CHECK(hours->front().count == 3);
    CHECK(hours->front().value == Approx(80));
    auto raw = w.store->history("H001", "BED-1", "heart_rate", Resolution::Raw, kT0, kT0 + 3600000, 100);
    REQUIRE(raw.ok());
    CHECK(raw->size() == 3);

    // A late sample (older device time) goes to history but not over the latest value.
    REQUIRE(w.store->ingest("H001", batch({sample(5, "BED-1", "heart_rate", 50, kT0 + 500)}), kT0).ok());
    auto latest = w.store->latest("H001");
    REQUIRE(latest.ok());
    REQUIRE(latest->size() == 2);
    CHECK(latest->at(0).bed == "BED-1");
    CHECK(latest->at(0).values.at(0).value == 90);
    CHECK(latest->at(1).values.at(0).name == "spo2");
}

TEST_CASE("vitals store: alarms keep their priority, acknowledge and silence are audited, unacknowledged ones escalate") {
    Ward w;
    auto raised = w.store->ingest("H001", batch({alarm(10, "BED-1", "high", kT0), alarm(11, "BED-2", "low", kT0)}), kT0);
    REQUIRE(raised.ok());
    REQUIRE(raised->alarm_ids.size() == 2);
    const int64_t high = raised->alarm_ids[0], low = raised->alarm_ids[1];
    CHECK(w.store->alarm(high)->priority == Priority::High);

    // Nothing lowers a priority: the file refuses it, whoever asks.
    {
        auto db = sql::Db::open(w.dir + "/vitals.db");
        REQUIRE(db.ok());
        CHECK_FALSE(db->exec("UPDATE alarms SET priority = 0 WHERE id = " + std::to_string(high)).ok());
    }
    CHECK(w.store->alarm(high)->priority == Priority::High);

    // Not yet due at 59 s; due at 60 s: both escalate once, audited.
    CHECK(w.store->escalate_due(kT0 + 59000, 60000)->empty());
    auto escalated = w.store->escalate_due(kT0 + 60000, 60000);
    REQUIRE(escalated.ok());
    CHECK(escalated->size() == 2);
    CHECK(w.store->escalate_due(kT0 + 61000, 60000)->empty());  // once per period

    auto acked = w.store->act(high, AlarmAction::Acknowledge, "nurse-li", "10.0.0.7", 0, kT0 + 70000);
    REQUIRE(acked.ok());
    CHECK(acked->state == "acknowledged");
    CHECK(acked->acknowledged_by == "nurse-li");
    auto twice = w.store->act(high, AlarmAction::Silence, "nurse-li", "10.0.0.7", 60000, kT0 + 71000);
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().code == "vitals.alarm_acknowledged");

    auto silenced = w.store->act(low, AlarmAction::Silence, "nurse-wang", "10.0.0.8", 120000, kT0 + 70000);
    REQUIRE(silenced.ok());
    CHECK(silenced->state == "silenced");
    // Silenced: no escalation until the silence runs out; then it escalates again.
    CHECK(w.store->escalate_due(kT0 + 180000, 60000)->empty());
    auto after = w.store->escalate_due(kT0 + 190000, 60000);
    REQUIRE(after.ok());
    REQUIRE(after->size() == 1);
    CHECK(after->front().id == low);
    CHECK(after->front().escalation == 2);
    CHECK(after->front().state == "active");
    CHECK(after->front().priority == Priority::Low);  // escalation raises the level, never touches the priority

    auto open = w.store->alarms("H001", true, 100);
    REQUIRE(open.ok());
    REQUIRE(open->size() == 1);
    CHECK(open->front().id == low);
    auto audit = w.store->audit("H001", 100);
    REQUIRE(audit.ok());
    std::vector<std::string> actions;
    for (const auto& e : *audit) actions.push_back(e.action + ":" + e.who);
    CHECK(actions == std::vector<std::string>{"escalate:controlplane", "silence:nurse-wang", "acknowledge:nurse-li",
                                              "escalate:controlplane", "escalate:controlplane"});
    CHECK(audit->at(1).from == "10.0.0.8");
    {
        auto db = sql::Db::open(w.dir + "/vitals.db");
        REQUIRE(db.ok());
        CHECK_FALSE(db->exec("DELETE FROM alarm_audit").ok());
        CHECK_FALSE(db->exec("UPDATE alarm_audit SET who = 'someone else'").ok());
    }
    CHECK(w.store->audit("H001", 100)->size() == 5);
    CHECK(w.store->alarm(9999).error().code == "vitals.unknown_alarm");
}

TEST_CASE("vitals store: raw samples, minute and hour rollups each go after their own retention") {
    VitalsRetention r;
    r.raw_keep = 1h;
    r.minute_keep = 24h;
    r.hour_keep = 240h;
    Ward w(r);
    REQUIRE(w.store->ingest("H001", batch({sample(1, "BED-1", "heart_rate", 70, kT0)}), kT0).ok());
    auto count = [&](Resolution res) {
        return w.store->history("H001", "BED-1", "heart_rate", res, 0, kT0 + 1000, 10)->size();
    };
    REQUIRE(w.store->purge(kT0 + 3600000 - 1).ok());
    CHECK(count(Resolution::Raw) == 1);
    REQUIRE(w.store->purge(kT0 + 3600000 + 1).ok());
    CHECK(count(Resolution::Raw) == 0);
    CHECK(count(Resolution::Minute) == 1);
    REQUIRE(w.store->purge(kT0 + 25 * 3600000LL).ok());
    CHECK(count(Resolution::Minute) == 0);
    CHECK(count(Resolution::Hour) == 1);
    REQUIRE(w.store->purge(kT0 + 241 * 3600000LL).ok());
    CHECK(count(Resolution::Hour) == 0);
}

TEST_CASE("monitor board: a monitor silent for 5 s, or whose agent stops reporting, shows offline with the reason") {
    ManualClock clock;
    MonitorBoard board(clock, 5s);
    board.take_report("H001", {{"MON-1", "PM-9000", "ICU", "BED-1", "unsolicited", "connected", 0},
                               {"MON-2", "PM-50", "ICU", "BED-2", "realtime", "lost", 0}});
    VitalSample s;
    s.device = "MON-1";
    s.bed = "BED-1";
    board.take_samples("H001", {s});
    auto first = board.changes();
    REQUIRE(first.size() == 2);
    auto views = board.monitors("H001");
    REQUIRE(views.size() == 2);
    CHECK(views[0].online);
    CHECK_FALSE(views[1].online);
    CHECK(views[1].reason == "agent says lost");
    CHECK(board.ward_of("H001", "BED-2") == "ICU");

    clock.advance(4s);
    CHECK(board.changes().empty());
    board.take_report("H001", {{"MON-1", "PM-9000", "ICU", "BED-1", "unsolicited", "connected", 0}});
    clock.advance(2s);  // 6 s since the last sample
    auto changed = board.changes();
    REQUIRE(changed.size() == 1);
    CHECK_FALSE(changed[0].second.online);
    CHECK(changed[0].second.reason == "silent");
    board.take_samples("H001", {s});
    CHECK(board.changes().at(0).second.online);
    clock.advance(6s);  // no report from the agent: all its monitors offline
    board.take_samples("H001", {s});
    CHECK(board.monitors("H001")[0].reason == "no report from the agent");
}

TEST_CASE("ward feed: a screen gets its ward's events, and one that falls behind is closed, not waited for") {
    WardFeed feed(2, 3);
    auto icu = feed.subscribe({"H001", "ICU", ""});
    auto bed = feed.subscribe({"H001", "", "BED-9"});
    REQUIRE(icu);
    REQUIRE(bed);
    CHECK_FALSE(feed.subscribe({"H001", "", ""}));  // at most 2
    feed.publish({"H001", "ICU", "BED-1", "vitals", "{}"});
    feed.publish({"H001", "CCU", "BED-9", "vitals", "{}"});
    feed.publish({"H002", "ICU", "BED-1", "vitals", "{}"});
    feed.publish({"H001", "", "", "monitor", "{}"});  // hospital-wide
    auto got = icu->next(0ms);
    REQUIRE(got);
    CHECK(got->size() == 2);
    auto got_bed = bed->next(0ms);
    REQUIRE(got_bed);
    CHECK(got_bed->size() == 2);
    for (int i = 0; i < 4; ++i) feed.publish({"H001", "ICU", "BED-1", "vitals", "{}"});
    CHECK_FALSE(icu->next(0ms));  // closed: it fell 3 behind
    CHECK(feed.subscribers() == 1);
    feed.close();
    CHECK_FALSE(bed->next(10ms));
}

TEST_CASE("vitals intake: a message naming another hospital than its topic, or unreadable, stores nothing") {
    Ward w;
    MonitorBoard board(w.clock);
    WardFeed feed;
    VitalsIntake intake(*w.store, board, feed, w.clock);
    auto listener = feed.subscribe({"H001", "", ""});
    auto body = nlohmann::json{{"records", {sample(1, "BED-1", "heart_rate", 70, kT0), alarm(2, "BED-1", "high", kT0)}}};
    auto env = Envelope::make("vitals.batch", "H002", body);
    intake.take({topics::vitals("H001"), env.to_json()});
    intake.take({topics::vitals("H001"), "{not json"});
    intake.take({topics::vitals("H001"), Envelope::make("vitals.other", "H001", body).to_json()});
    CHECK(w.store->latest("H001")->empty());
    intake.take({topics::vitals("H001"), Envelope::make("vitals.batch", "H001", body).to_json()});
    CHECK(w.store->latest("H001")->size() == 1);
    auto events = listener->next(0ms);
    REQUIRE(events);
    REQUIRE(events->size() == 2);
    CHECK(events->at(0).type == "vitals");
    CHECK(events->at(1).type == "alarm");
    CHECK(nlohmann::json::parse(events->at(1).data)["priority"] == "high");
}

TEST_CASE("vitals intake: two instances take the same batch, and the one that stores nothing new still passes it on") {
    Ward w;  // the shared store both instances write
    MonitorBoard board_a(w.clock), board_b(w.clock);
    WardFeed feed_a, feed_b;
    VitalsIntake intake_a(*w.store, board_a, feed_a, w.clock), intake_b(*w.store, board_b, feed_b, w.clock);
    auto screen_a = feed_a.subscribe({"H001", "", ""});
    auto screen_b = feed_b.subscribe({"H001", "", ""});
    auto body = nlohmann::json{{"records", {sample(1, "BED-1", "heart_rate", 70, kT0), alarm(2, "BED-1", "high", kT0)}}};
    const std::string message = Envelope::make("vitals.batch", "H001", body).to_json();
    intake_a.take({topics::vitals("H001"), message});
    intake_b.take({topics::vitals("H001"), message});
    CHECK(w.store->alarms("H001", true, 10)->size() == 1);  // stored once
    for (auto* screen : {&screen_a, &screen_b}) {
        auto events = (*screen)->next(0ms);
        REQUIRE(events);
        REQUIRE(events->size() == 2);
        CHECK(events->at(0).type == "vitals");
        CHECK(nlohmann::json::parse(events->at(0).data)["samples"].size() == 1);
        CHECK(events->at(1).type == "alarm");
        CHECK(nlohmann::json::parse(events->at(1).data)["priority"] == "high");
    }
}

TEST_CASE("vitals intake: an alarm acknowledged or escalated by the other instance reaches this one's screens, once") {
    Ward w;  // instance a's connection; b opens its own on the same file, as another process
    auto opened_b = open_sqlite_vitals_store(w.dir + "/vitals.db", {});
    REQUIRE(opened_b.ok());
    auto store_b = std::move(opened_b.value());
    MonitorBoard board_a(w.clock), board_b(w.clock);
    WardFeed feed_a, feed_b;
    VitalsIntake intake_a(*w.store, board_a, feed_a, w.clock), intake_b(*store_b, board_b, feed_b, w.clock);
    intake_a.tick();  // each starts following the audit at its newest entry
    intake_b.tick();
    auto screen_a = feed_a.subscribe({"H001", "", ""});
    auto screen_b = feed_b.subscribe({"H001", "", ""});
    auto alarm_changes = [](std::shared_ptr<WardFeed::Subscription>& screen) {
        std::vector<std::string> out;
        auto events = screen->next(0ms);
        REQUIRE(events);
        for (const auto& e : *events)
            if (e.type == "alarm") {
                auto j = nlohmann::json::parse(e.data);
                out.push_back(j["change"].get<std::string>() + ":" + j["state"].get<std::string>());
            }
        return out;
    };
    const std::string message = Envelope::make("vitals.batch", "H001",
                                                {{"records", {alarm(1, "BED-1", "high", kT0), alarm(2, "BED-2", "medium", kT0)}}})
                                    .to_json();
    intake_a.take({topics::vitals("H001"), message});
    intake_b.take({topics::vitals("H001"), message});
    CHECK(alarm_changes(screen_a) == std::vector<std::string>{"raised:active", "raised:active"});
    CHECK(alarm_changes(screen_b) == std::vector<std::string>{"raised:active", "raised:active"});
    auto open = w.store->alarms("H001", true, 10);
    REQUIRE(open);
    REQUIRE(open->size() == 2);
    const int64_t bed1 = open->at(0).bed == "BED-1" ? open->at(0).id : open->at(1).id;

    // b acknowledges BED-1's alarm (as its API does: act, then announce on its own feed).
    auto acked = store_b->act(bed1, AlarmAction::Acknowledge, "nurse-7", "127.0.0.1", 0, w.clock.wall_ms());
    REQUIRE(acked);
    intake_b.announce_alarm(*acked, "acknowledged");
    CHECK(alarm_changes(screen_b) == std::vector<std::string>{"acknowledged:acknowledged"});
    intake_b.tick();  // its own change, already announced: not again
    CHECK(alarm_changes(screen_b).empty());
    CHECK(alarm_changes(screen_a).empty());
    intake_a.tick();  // a learns it from the store's audit
    CHECK(alarm_changes(screen_a) == std::vector<std::string>{"acknowledged:acknowledged"});

    // BED-2's alarm, not acknowledged, escalates on b; a announces it once.
    w.clock.advance(61s);
    intake_b.tick();
    CHECK(alarm_changes(screen_b) == std::vector<std::string>{"escalated:active"});
    intake_a.tick();
    CHECK(alarm_changes(screen_a) == std::vector<std::string>{"escalated:active"});
    intake_a.tick();
    intake_b.tick();
    CHECK(alarm_changes(screen_a).empty());
    CHECK(alarm_changes(screen_b).empty());
}

TEST_CASE("FHIR: samples become vital-signs Observations with LOINC codes, pressures one panel, the bed as subject") {
    auto b = batch({sample(1, "BED-1", "heart_rate", 72, kT0), sample(2, "BED-1", "nibp_sys", 120, kT0),
                    sample(3, "BED-1", "nibp_dia", 80, kT0), sample(4, "BED-1", "nibp_mean", 93, kT0),
                    sample(5, "BED-1", "custom_index", 3, kT0 + 1000)});
    auto obs = observations_of("H001", "BED-1", b.samples);
    REQUIRE(obs.size() == 3);
    const auto& hr = obs[0];
    CHECK(hr["resourceType"] == "Observation");
    CHECK(hr["status"] == "final");
    CHECK(hr["code"]["coding"][0]["system"] == "http://loinc.org");
    CHECK(hr["code"]["coding"][0]["code"] == "8867-4");
    CHECK(hr["category"][0]["coding"][0]["code"] == "vital-signs");
    CHECK(hr["meta"]["profile"][1] == "http://hl7.org/fhir/StructureDefinition/heartrate");
    CHECK(hr["valueQuantity"]["value"] == 72.0);
    CHECK(hr["valueQuantity"]["system"] == "http://unitsofmeasure.org");
    CHECK(hr["effectiveDateTime"] == "2026-01-05T00:00:00.000Z");
    CHECK(hr["subject"]["identifier"]["system"] == "urn:hisgate:bed:H001");
    CHECK(hr["subject"]["identifier"]["value"] == "BED-1");
    const auto& bp = obs[1];
    CHECK(bp["code"]["coding"][0]["code"] == "85354-9");
    CHECK_FALSE(bp.contains("valueQuantity"));
    REQUIRE(bp["component"].size() == 3);
    CHECK(bp["component"][0]["code"]["coding"][0]["code"] == "8480-6");
    CHECK(bp["component"][1]["code"]["coding"][0]["code"] == "8462-4");
    CHECK(bp["component"][2]["valueQuantity"]["value"] == 93.0);
    // A sign outside the LOINC table: its name as text, no vital-signs profile claimed.
    CHECK(obs[2]["code"]["text"] == "custom_index");
    CHECK_FALSE(obs[2].contains("meta"));
    auto bundle = searchset(obs);
    CHECK(bundle["resourceType"] == "Bundle");
    CHECK(bundle["type"] == "searchset");
    CHECK(bundle["total"] == 3);
}
