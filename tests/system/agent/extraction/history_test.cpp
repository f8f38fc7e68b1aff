// Change sets kept after the hand-over and served again (issue 14): reference.changesets
// and reference.snapshot through the agent's task executor, on a real SQLite state file
// and against a real his-sim process; the history's bound; the hospital's own record.
#include <catch2/catch.hpp>

#include <map>

#include "agent/extraction/extractor.h"
#include "simulated_his.h"

using namespace hisgate;
using hisgate::test::CollectingSink;
using Asker = hisgate::test::ReferenceAsker;
using hisgate::test::SimulatedHis;

namespace {

std::unique_ptr<extraction::Extractor> open_extractor(SimulatedHis& his, agent::EventSink& sink,
                                                      extraction::ExtractionSettings settings) {
    auto x = extraction::Extractor::open(his.adapter(), std::move(settings), his.state_file(), "H001", sink);
    INFO((x.ok() ? "" : x.error().describe()));
    REQUIRE(x.ok());
    return std::move(x.value());
}

using hisgate::test::pull;
using hisgate::test::run_sql;

// The replica's view: change sets applied in order to an empty map.
using Replica = std::map<std::pair<std::string, std::string>, nlohmann::json>;
void apply(Replica& r, const nlohmann::json& cs) {
    for (const auto& c : cs["changes"]) {
        auto k = std::make_pair(c["entity"].get<std::string>(), c["key"].get<std::string>());
        if (c["op"] == "upsert") r[k] = c["data"];
        else r.erase(k);
    }
}

// A change set with one big slot record, committed straight into the state file as the
// extractor would, before the extractor opens (it hands them over then).
void commit_big(extraction::SnapshotStore& store, int64_t i, size_t bytes) {
    extraction::Change c{extraction::Op::Upsert,
                         {"slot", "S-BIG-" + std::to_string(i), "2030-01-01",
                          {{"slotId", "S-BIG-" + std::to_string(i)}, {"note", std::string(bytes, 'x')}}}};
    auto r = store.commit({c}, [&](int64_t seq) {
        return nlohmann::json{{"schema", 1}, {"seq", seq}, {"baseSeq", seq - 1}, {"hospital", "H001"},
                              {"changes", nlohmann::json::array({c.to_json()})}};
    });
    REQUIRE(r.ok());
}

}  // namespace

TEST_CASE("reference history: change sets stay after the hand-over and are served again in order, as emitted") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    pull(*x);
    auto db = his.his_db();
    run_sql(db, "UPDATE doctors SET title = 'Professor' WHERE doctor_id = 'DR-101'");
    pull(*x);
    run_sql(db, "UPDATE slots SET booked = 1 WHERE slot_id IN (SELECT slot_id FROM slots ORDER BY date, slot_id LIMIT 1)");
    pull(*x);
    auto emitted = sink.changesets();
    REQUIRE(emitted.size() == 3);

    Asker a(his, x.get());
    auto all = a.body("reference.changesets", {{"fromSeq", 1}, {"toSeq", 100}});
    CHECK(all["hospital"] == "H001");
    CHECK(all["lastSeq"] == 3);
    CHECK(all["complete"] == true);
    REQUIRE(all["changesets"].size() == 3);
    for (size_t i = 0; i < 3; ++i) CHECK(all["changesets"][i] == emitted[i]);

    auto middle = a.body("reference.changesets", {{"fromSeq", 2}, {"toSeq", 2}});
    REQUIRE(middle["changesets"].size() == 1);
    CHECK(middle["changesets"][0]["seq"] == 2);
    CHECK(middle["complete"] == true);
    // Past the last seq: nothing yet, and nothing missing.
    auto ahead = a.body("reference.changesets", {{"fromSeq", 4}, {"toSeq", 9}});
    CHECK(ahead["changesets"].empty());
    CHECK(ahead["lastSeq"] == 3);
    CHECK(ahead["complete"] == true);
    // They survive a restart of the extractor.
    x.reset();
    x = open_extractor(his, sink, his.settings());
    Asker b(his, x.get());
    CHECK(b.body("reference.changesets", {{"fromSeq", 1}, {"toSeq", 3}})["changesets"].size() == 3);
}

TEST_CASE("reference history: an answer is cut before it passes 3 MiB and says it is not complete") {
    SimulatedHis his;
    REQUIRE(his.start());
    {
        auto store = extraction::SnapshotStore::open(his.state_file());
        REQUIRE(store.ok());
        for (int64_t i = 1; i <= 4; ++i) commit_big(store.value(), i, 1200 * 1024);  // 1.2 MB each
    }
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    REQUIRE(sink.changesets().size() == 4);  // handed over at open, and kept

    Asker a(his, x.get());
    auto first = a.body("reference.changesets", {{"fromSeq", 1}, {"toSeq", 4}});
    CHECK(first["lastSeq"] == 4);
    CHECK(first["complete"] == false);
    REQUIRE(first["changesets"].size() == 2);  // a third would pass 3 MiB
    CHECK(first["changesets"][1]["seq"] == 2);
    CHECK(first.dump().size() <= 3u * 1024 * 1024);
    // The caller asks again from the next seq.
    auto rest = a.body("reference.changesets", {{"fromSeq", 3}, {"toSeq", 4}});
    CHECK(rest["complete"] == true);
    REQUIRE(rest["changesets"].size() == 2);
    CHECK(rest["changesets"][0] == sink.changesets()[2]);

    // The same through the interface with small bounds: one change set too big to send at all.
    auto alone = x->changesets(1, 4, 1000, 2000);
    REQUIRE_FALSE(alone.ok());
    CHECK(alone.error().cls == ErrorClass::Rejected);
    CHECK(alone.error().code == "reference.changeset_too_large");
    // The snapshot that would not fit one answer is refused as such.
    auto snap = x->snapshot(4 * 1024 * 1024);
    REQUIRE_FALSE(snap.ok());
    CHECK(snap.error().code == "reference.snapshot_too_large");
    auto reply = a.ask("reference.snapshot", nlohmann::json::object());
    CHECK(reply["error"]["code"] == "reference.snapshot_too_large");
}

TEST_CASE("reference history: only the latest extraction.history_keep are kept, and an older range is gone") {
    SimulatedHis his;
    REQUIRE(his.start());
    {
        auto store = extraction::SnapshotStore::open(his.state_file(), 10);
        REQUIRE(store.ok());
        for (int64_t i = 1; i <= 15; ++i) commit_big(store.value(), i, 10);
        // Never handed over: all 15 are pending, and a pending one is never pruned.
        auto pending = store->pending();
        REQUIRE(pending.ok());
        CHECK(pending->size() == 15);
        auto oldest = store->oldest_kept();
        REQUIRE(oldest.ok());
        CHECK(oldest.value() == std::optional<int64_t>(1));
    }
    auto settings = his.settings();
    settings.history_keep = 10;
    CollectingSink sink;
    auto x = open_extractor(his, sink, settings);
    REQUIRE(sink.changesets().size() == 15);  // every one handed over, in order

    Asker a(his, x.get());
    auto gone = a.ask("reference.changesets", {{"fromSeq", 1}, {"toSeq", 15}});
    INFO(gone.dump());
    REQUIRE(gone.contains("error"));
    CHECK(gone["error"]["code"] == "reference.range_gone");
    CHECK(gone["error"]["class"] == "rejected");
    CHECK_THAT(gone["error"]["message"].get<std::string>(), Catch::Contains("the oldest kept is 6"));
    auto kept = a.body("reference.changesets", {{"fromSeq", 6}, {"toSeq", 15}});
    REQUIRE(kept["changesets"].size() == 10);
    CHECK(kept["changesets"][0]["seq"] == 6);
    CHECK(kept["complete"] == true);
}

TEST_CASE("reference history: a state file of the older layout keeps its pending change sets") {
    SimulatedHis his;
    REQUIRE(his.start());
    {
        auto db = sql::Db::open(his.state_file());
        REQUIRE(db.ok());
        run_sql(db.value(),
                "CREATE TABLE extraction_sequence(id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL);"
                "INSERT INTO extraction_sequence VALUES(1, 4);"
                "CREATE TABLE extraction_pending(seq INTEGER PRIMARY KEY, body TEXT NOT NULL);"
                "INSERT INTO extraction_pending VALUES(4, '{\"seq\": 4, \"baseSeq\": 3, \"changes\": []}');");
    }
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    REQUIRE(sink.changesets().size() == 1);
    CHECK(sink.changesets()[0]["seq"] == 4);
    Asker a(his, x.get());
    CHECK(a.body("reference.changesets", {{"fromSeq", 4}, {"toSeq", 4}})["changesets"].size() == 1);
    // 1 to 3 were handed over and deleted by the older agent.
    CHECK(a.ask("reference.changesets", {{"fromSeq", 3}, {"toSeq", 4}})["error"]["code"] == "reference.range_gone");
}

TEST_CASE("reference snapshot: the whole snapshot at its seq equals the change sets applied in order") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    pull(*x);
    auto db = his.his_db();
    run_sql(db, "UPDATE doctors SET name = 'Dr. Wang Fang II' WHERE doctor_id = 'DR-101'");
    run_sql(db, "DELETE FROM slots WHERE slot_id IN (SELECT slot_id FROM slots ORDER BY date, slot_id LIMIT 2)");
    pull(*x);

    Asker a(his, x.get());
    auto snap = a.body("reference.snapshot", nlohmann::json::object());
    CHECK(snap["schema"] == 1);
    CHECK(snap["hospital"] == "H001");
    CHECK(snap["seq"] == 2);
    CHECK(snap["done"] == true);  // the unpaged request ({}, older control planes): all of it, in one
    CHECK(snap["next"].is_null());
    Replica replica, snapshot;
    auto range = a.body("reference.changesets", {{"fromSeq", 1}, {"toSeq", 2}});
    for (const auto& cs : range["changesets"]) apply(replica, cs);
    for (const auto& r : snap["records"]) snapshot[{r["entity"], r["key"]}] = r["data"];
    CHECK(snapshot.size() == replica.size());
    CHECK(snapshot == replica);
    CHECK(snapshot.count({"hospital", "H001"}) == 1);
}

namespace {

// The pages of the snapshot from the first, following `next` until done.
std::vector<nlohmann::json> read_pages(Asker& a, int64_t max_bytes) {
    std::vector<nlohmann::json> pages;
    nlohmann::json after = nullptr;
    for (;;) {
        REQUIRE(pages.size() < 1000);
        auto page = a.body("reference.snapshot", {{"after", after}, {"max_bytes", max_bytes}});
        pages.push_back(page);
        if (page["done"] == true) return pages;
        REQUIRE(page["next"].is_string());
        after = page["next"];
    }
}

}  // namespace

TEST_CASE("reference snapshot pages: every record once, in (entity, key) order, each page within its budget") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    pull(*x);
    Asker a(his, x.get());
    auto whole = a.body("reference.snapshot", nlohmann::json::object());
    REQUIRE(whole["records"].size() > 10);

    auto pages = read_pages(a, 1024);
    INFO(pages.size() << " pages of at most 1024 bytes, " << whole["records"].size() << " records");
    CHECK(pages.size() > 3);
    nlohmann::json joined = nlohmann::json::array();
    for (size_t i = 0; i < pages.size(); ++i) {
        const auto& p = pages[i];
        CHECK(p["schema"] == 1);
        CHECK(p["hospital"] == "H001");
        CHECK(p["seq"] == 1);
        REQUIRE_FALSE(p["records"].empty());  // never an empty page before the last
        size_t bytes = 0;
        for (const auto& r : p["records"]) bytes += r.dump().size() + 1;
        CHECK(bytes <= 1024);
        CHECK(p["done"] == (i + 1 == pages.size()));
        if (p["done"] == true) CHECK(p["next"].is_null());
        else CHECK(p["next"] == p["records"].back()["entity"].get<std::string>() + ":" +
                                p["records"].back()["key"].get<std::string>());
        for (const auto& r : p["records"]) joined.push_back(r);
    }
    CHECK(joined == whole["records"]);  // the same records, each once, in the same order
    for (size_t i = 1; i < joined.size(); ++i)
        CHECK(std::make_pair(joined[i - 1]["entity"].get<std::string>(), joined[i - 1]["key"].get<std::string>()) <
              std::make_pair(joined[i]["entity"].get<std::string>(), joined[i]["key"].get<std::string>()));
    // Without max_bytes, a page is 256 KiB: this hospital's whole snapshot in one.
    auto one = a.body("reference.snapshot", {{"after", nullptr}});
    CHECK(one["done"] == true);
    CHECK(one["records"] == whole["records"]);
    // A cursor past the last record: an empty last page.
    auto past = a.body("reference.snapshot", {{"after", "slot:\x7f"}, {"max_bytes", 1024}});
    CHECK(past["records"].empty());
    CHECK(past["done"] == true);
}

TEST_CASE("reference snapshot pages: each page is read at the seq of its moment, and the next resumes strictly after the cursor") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    pull(*x);
    Asker a(his, x.get());
    auto first = a.body("reference.snapshot", {{"after", nullptr}, {"max_bytes", 1024}});
    REQUIRE(first["done"] == false);
    CHECK(first["seq"] == 1);
    // A change set is committed between the pages.
    auto db = his.his_db();
    const auto last = first["records"].back();
    run_sql(db, "UPDATE doctors SET title = 'Professor' WHERE doctor_id = 'DR-101'");
    pull(*x);
    auto second = a.body("reference.snapshot", {{"after", first["next"]}, {"max_bytes", 1024}});
    CHECK(second["seq"] == 2);
    REQUIRE_FALSE(second["records"].empty());
    CHECK(std::make_pair(second["records"][0]["entity"].get<std::string>(), second["records"][0]["key"].get<std::string>()) >
          std::make_pair(last["entity"].get<std::string>(), last["key"].get<std::string>()));
}

TEST_CASE("reference snapshot pages: a record bigger than the page goes out alone, and one bigger than an answer is refused") {
    SimulatedHis his;
    REQUIRE(his.start());
    {
        auto store = extraction::SnapshotStore::open(his.state_file());
        REQUIRE(store.ok());
        commit_big(store.value(), 1, 5000);
        commit_big(store.value(), 2, 10);
        commit_big(store.value(), 3, 10);
        commit_big(store.value(), 4, 5000);
    }
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    Asker a(his, x.get());
    auto pages = read_pages(a, 1024);
    REQUIRE(pages.size() == 3);
    auto keys = [](const nlohmann::json& page) {
        std::vector<std::string> out;
        for (const auto& r : page["records"]) out.push_back(r["key"]);
        return out;
    };
    CHECK(keys(pages[0]) == std::vector<std::string>{"S-BIG-1"});  // 5 KB, alone
    CHECK(keys(pages[1]) == std::vector<std::string>{"S-BIG-2", "S-BIG-3"});
    CHECK(keys(pages[2]) == std::vector<std::string>{"S-BIG-4"});
    CHECK(pages[2]["done"] == true);
    CHECK(pages[0]["records"][0]["data"]["note"].get<std::string>().size() == 5000);
    // Through the interface with an answer of 2000 bytes: the 5 KB record cannot go at all.
    auto refused = x->snapshot_page(std::nullopt, 1000, 2000);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().cls == ErrorClass::Rejected);
    CHECK(refused.error().code == "reference.record_too_large");
    // After it, the small ones fit.
    auto rest = x->snapshot_page(extraction::SnapshotCursor{"slot", "S-BIG-1"}, 1000, 2000);
    REQUIRE(rest.ok());
    CHECK(rest->records.size() == 2);
    CHECK_FALSE(rest->done);
}

TEST_CASE("reference snapshot pages: bad bodies are refused naming the field, and never reach the HIS") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    Asker a(his, x.get());
    struct Case {
        nlohmann::json body;
        std::string says;
    };
    Case cases[] = {
        {{{"after", 5}}, "body.after"},
        {{{"after", nlohmann::json::array({"slot", "S-1"})}}, "body.after"},
        {{{"after", "no-colon"}}, "not a cursor"},
        {{{"after", "slot:"}}, "not a cursor"},
        {{{"after", "ward:W-1"}}, "no entity"},
        {{{"after", "slot:" + std::string(2000, 'k')}}, "not a cursor"},
        {{{"max_bytes", "1024"}}, "body.max_bytes"},
        {{{"max_bytes", 1.5}}, "body.max_bytes"},
        {{{"max_bytes", 10}}, "body.max_bytes"},
        {{{"max_bytes", -1}}, "body.max_bytes"},
        {{{"max_bytes", 4 * 1024 * 1024}}, "body.max_bytes"},
        {{{"after", nullptr}, {"max_bytes", nullptr}}, "body.max_bytes"},
    };
    for (const auto& c : cases) {
        INFO(c.body.dump().substr(0, 200));
        auto reply = a.ask("reference.snapshot", c.body);
        REQUIRE(reply.contains("error"));
        CHECK(reply["error"]["code"] == "reference.bad_page");
        CHECK(reply["error"]["class"] == "rejected");
        CHECK_THAT(reply["error"]["message"].get<std::string>(), Catch::Contains(c.says));
    }
    auto hospital_db = his.his_db();
    CHECK(test::count(hospital_db, "SELECT count(*) FROM queries") == 0);
}

TEST_CASE("reference requests: bad bodies are refused naming the field, and never reach the HIS") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, his.settings());
    Asker a(his, x.get());
    struct Case {
        nlohmann::json body;
        std::string field;
    };
    Case cases[] = {
        {nlohmann::json::object(), "body.fromSeq"},
        {{{"fromSeq", "1"}, {"toSeq", 2}}, "body.fromSeq"},
        {{{"fromSeq", 0}, {"toSeq", 2}}, "body.fromSeq"},
        {{{"fromSeq", 1.5}, {"toSeq", 2}}, "body.fromSeq"},
        {{{"fromSeq", 1}}, "body.toSeq"},
        {{{"fromSeq", 1}, {"toSeq", -3}}, "body.toSeq"},
        {{{"fromSeq", 5}, {"toSeq", 4}}, "body.toSeq at least body.fromSeq"},
    };
    for (const auto& c : cases) {
        INFO(c.body.dump());
        auto reply = a.ask("reference.changesets", c.body);
        REQUIRE(reply.contains("error"));
        CHECK(reply["error"]["code"] == "reference.bad_range");
        CHECK(reply["error"]["class"] == "bad_input");
        CHECK_THAT(reply["error"]["message"].get<std::string>(), Catch::Contains(c.field));
    }
    // An executor without extraction says so.
    Asker none(his, nullptr);
    CHECK(none.ask("reference.snapshot", nlohmann::json::object())["error"]["code"] == "reference.unavailable");
    auto hospital_db = his.his_db();
    CHECK(test::count(hospital_db, "SELECT count(*) FROM queries") == 0);
}

TEST_CASE("extraction: the hospital's own record comes first, and a change of its parameters is one change set") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto settings = his.settings();
    settings.hospital = {"First People's Hospital", "south", "Guangzhou", "3A"};
    {
        auto x = open_extractor(his, sink, settings);
        pull(*x);
    }
    REQUIRE(sink.changesets().size() == 1);
    auto first = sink.changesets()[0]["changes"][0];
    CHECK(first["entity"] == "hospital");
    CHECK(first["op"] == "upsert");
    CHECK(first["key"] == "H001");
    CHECK(first["data"] == nlohmann::json{{"hospitalId", "H001"}, {"name", "First People's Hospital"}, {"region", "south"},
                                          {"city", "Guangzhou"}, {"level", "3A"}});
    // The parameter file changes (a new level); the agent restarts with it.
    settings.hospital.level = "3B";
    auto x = open_extractor(his, sink, settings);
    pull(*x);
    REQUIRE(sink.changesets().size() == 2);
    auto second = sink.changesets()[1];
    REQUIRE(second["changes"].size() == 1);
    CHECK(second["changes"][0]["entity"] == "hospital");
    CHECK(second["changes"][0]["data"]["level"] == "3B");
    pull(*x);
    CHECK(sink.changesets().size() == 2);  // unchanged: nothing
}
