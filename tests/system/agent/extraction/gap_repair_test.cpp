// The control plane's GapRepair against the agent's own reference.snapshot and
// reference.changesets handlers (its task executor over a real Extractor, a real SQLite
// state file, a real his-sim): a snapshot read in pages while the hospital changes between
// them, so the pages are of different seqs, and the change sets in between replayed over
// them; what the public primary installs must be exactly the agent's state at the end.
// Bounds: too many pages, or the change sets in between no longer kept, install nothing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>

#include "agent/extraction/extractor.h"
#include "controlplane/public_partition/gap_repair.h"
#include "simulated_his.h"

using namespace hisgate;
using namespace hisgate::controlplane::public_partition;
using hisgate::test::CollectingSink;
using hisgate::test::SimulatedHis;

namespace {

using Rows = std::map<std::pair<std::string, std::string>, nlohmann::json>;

using hisgate::test::run_sql;

// Each change below is a change set.
void pull_changes(extraction::Extractor& x) { REQUIRE(hisgate::test::pull(x) > 0); }

std::unique_ptr<extraction::Extractor> open_extractor(SimulatedHis& his, CollectingSink& sink, int64_t history_keep) {
    auto settings = his.settings();
    settings.history_keep = history_keep;
    auto x = extraction::Extractor::open(his.adapter(), std::move(settings), his.state_file(), "H001", sink);
    INFO((x.ok() ? "" : x.error().describe()));
    REQUIRE(x.ok());
    return std::move(x.value());
}

// What the agent holds now, by (entity, key).
Rows agent_rows(extraction::Extractor& x) {
    auto snap = x.snapshot(1u << 26);
    REQUIRE(snap.ok());
    Rows out;
    for (const auto& r : snap->records) out[{r["entity"], r["key"]}] = r["data"];
    return out;
}

// What the public primary's file holds of H001, read with a connection of its own.
Rows primary_rows(const std::string& path) {
    auto db = sql::Db::open(path);
    REQUIRE(db.ok());
    Rows out;
    const std::pair<std::string, std::string> tables[] = {
        {"hospital", "ref_hospitals"}, {"department", "ref_departments"}, {"doctor", "ref_doctors"}, {"slot", "ref_slots"}};
    for (const auto& [entity, table] : tables) {
        auto st = db->prepare(std::string("SELECT record_key, data FROM ") + table + " WHERE hospital_id = 'H001'");
        REQUIRE(st.ok());
        while (st->step()) out[{entity, st->text(0)}] = nlohmann::json::parse(st->text(1));
        REQUIRE_FALSE(st->error());
    }
    return out;
}

std::optional<HospitalState> state_of(PublicPrimary& primary) {
    auto all = primary.hospitals();
    REQUIRE(all.ok());
    for (const auto& h : *all)
        if (h.hospital_id == "H001") return h;
    return std::nullopt;
}

struct Primary {
    std::string path = test::make_temp_dir("gap-repair") + "/public.db";
    std::unique_ptr<PublicPrimary> primary;
    Primary() {
        auto p = open_sqlite_public_primary(path, SystemClock::instance());
        REQUIRE(p.ok());
        primary = std::move(p.value());
    }
    void take(const nlohmann::json& changeset) {
        auto cs = parse_change_set(changeset, "H001");
        REQUIRE(cs.ok());
        REQUIRE(primary->apply(*cs).ok());
    }
};

RepairSettings small_pages(int max_pages) {
    RepairSettings s;
    s.snapshot_page_bytes = 1024;  // a few records a page: this hospital takes a dozen
    s.max_snapshot_pages = max_pages;
    return s;
}

}  // namespace

TEST_CASE("gap repair: a snapshot read in pages while the hospital changes installs exactly the agent's final state") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, 1000);
    pull_changes(*x);  // seq 1
    test::ReferenceAsker agent(his, x.get());
    auto his_db = his.his_db();

    // Between pages the HIS changes and the agent commits a change set, so the pages are read
    // at seqs 1, 2 and 3. Each change touches records of pages already read (only the replay
    // can bring them) as well as of pages still to come.
    std::vector<int64_t> page_seqs;
    std::vector<std::string> asked;
    auto ask = [&](const std::string& hospital_id, const std::string& type, const nlohmann::json& body) {
        CHECK(hospital_id == "H001");
        asked.push_back(type);
        auto answer = agent.result(type, body);
        if (type != "reference.snapshot" || !answer) return answer;
        page_seqs.push_back((*answer)["seq"].get<int64_t>());
        if (page_seqs.size() == 1) {
            // The departments were on the first page.
            run_sql(his_db, "UPDATE departments SET name = 'Cardiology II' WHERE department_id = 'D-CAR'");
            run_sql(his_db, "INSERT INTO departments(department_id, name) VALUES('D-AAA', 'Allergy')");
            run_sql(his_db, "DELETE FROM slots WHERE slot_id = (SELECT slot_id FROM slots ORDER BY slot_id DESC LIMIT 1)");
            pull_changes(*x);  // seq 2
        } else if (page_seqs.size() == 3) {
            run_sql(his_db, "UPDATE doctors SET title = 'Professor' WHERE doctor_id = 'DR-101'");
            run_sql(his_db, "UPDATE slots SET booked = 1 WHERE slot_id = (SELECT slot_id FROM slots ORDER BY slot_id LIMIT 1)");
            run_sql(his_db, "UPDATE slots SET booked = 1 WHERE slot_id = (SELECT slot_id FROM slots ORDER BY slot_id DESC LIMIT 1)");
            pull_changes(*x);  // seq 3
        }
        return answer;
    };
    Primary p;
    GapRepair repair(*p.primary, ask, SystemClock::instance(), small_pages(100));
    // A hospital the primary never heard of: repaired by its snapshot.
    auto done = repair.repair(HospitalGap{"H001", 0, 0, 0, 0});
    INFO((done.ok() ? "" : done.error().describe()));
    REQUIRE(done.ok());

    INFO(page_seqs.size() << " pages");
    REQUIRE(page_seqs.size() > 3);
    CHECK(page_seqs.front() == 1);
    CHECK(page_seqs.back() == 3);
    CHECK(std::is_sorted(page_seqs.begin(), page_seqs.end()));
    // The change sets 2 and 3 were asked after the last page.
    CHECK(asked.back() == "reference.changesets");

    auto expected = agent_rows(*x);
    CHECK(expected.at({"department", "D-CAR"})["name"] == "Cardiology II");
    CHECK(expected.count({"department", "D-AAA"}) == 1);
    auto installed = primary_rows(p.path);
    CHECK(installed.size() == expected.size());
    for (const auto& [k, data] : expected) {
        INFO(k.first << " " << k.second);
        CHECK(installed.count(k) == 1);
        if (installed.count(k)) CHECK(installed.at(k) == data);
    }
    CHECK(installed == expected);
    auto state = state_of(*p.primary);
    REQUIRE(state);
    CHECK(state->seq == 3);
    CHECK_FALSE(state->suspect);
}

TEST_CASE("gap repair: too many pages, or the change sets between pages no longer kept, install nothing and the hospital stays suspect") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, 1);  // the agent keeps only its last change set
    pull_changes(*x);                               // seq 1
    auto his_db = his.his_db();
    run_sql(his_db, "UPDATE doctors SET title = 'Professor' WHERE doctor_id = 'DR-101'");
    pull_changes(*x);  // seq 2
    run_sql(his_db, "UPDATE departments SET name = 'Cardiology II' WHERE department_id = 'D-CAR'");
    pull_changes(*x);  // seq 3
    REQUIRE(sink.changesets().size() == 3);

    // The primary has seq 1, then 3 arrives: a gap at 2 (which the agent no longer keeps).
    Primary p;
    p.take(sink.changesets()[0]);
    p.take(sink.changesets()[2]);
    auto gaps = p.primary->gaps();
    REQUIRE(gaps.ok());
    REQUIRE(gaps->size() == 1);
    const HospitalGap gap = gaps->front();
    CHECK(gap.seq == 1);
    CHECK(gap.highest == 3);
    const Rows before = primary_rows(p.path);

    test::ReferenceAsker agent(his, x.get());
    int pages = 0;
    std::function<void(int)> between_pages;
    auto ask = [&](const std::string&, const std::string& type, const nlohmann::json& body) {
        auto answer = agent.result(type, body);
        if (type == "reference.snapshot" && answer && between_pages) between_pages(++pages);
        return answer;
    };

    SECTION("more pages than max_snapshot_pages") {
        GapRepair repair(*p.primary, ask, SystemClock::instance(), small_pages(2));
        auto r = repair.repair(gap);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "public.snapshot_too_many_pages");
        CHECK_THAT(r.error().message, Catch::Contains("nothing of it was installed"));
    }
    SECTION("the change sets between the first page and the last are gone") {
        // Two change sets while the pages are read; the agent keeps only the last of them.
        between_pages = [&](int page) {
            if (page == 1) {
                run_sql(his_db, "UPDATE doctors SET title = 'Resident' WHERE doctor_id = 'DR-102'");
                pull_changes(*x);  // seq 4
                run_sql(his_db, "UPDATE doctors SET title = 'Resident' WHERE doctor_id = 'DR-201'");
                pull_changes(*x);  // seq 5
            }
        };
        GapRepair repair(*p.primary, ask, SystemClock::instance(), small_pages(100));
        auto r = repair.repair(gap);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "reference.range_gone");
    }
    // Nothing was installed: the rows, the seq and the gap are as they were.
    CHECK(primary_rows(p.path) == before);
    auto state = state_of(*p.primary);
    REQUIRE(state);
    CHECK(state->seq == 1);
    CHECK(state->suspect);
    auto still = p.primary->gaps();
    REQUIRE(still.ok());
    CHECK(still->size() == 1);

    // With room for every page (and nothing changing between them), the snapshot closes it.
    between_pages = nullptr;
    GapRepair enough(*p.primary, ask, SystemClock::instance(), small_pages(100));
    auto r = enough.repair(gap);
    INFO((r.ok() ? "" : r.error().describe()));
    REQUIRE(r.ok());
    CHECK(primary_rows(p.path) == agent_rows(*x));
    state = state_of(*p.primary);
    REQUIRE(state);
    CHECK(state->seq == x->last_seq());
    CHECK_FALSE(state->suspect);
    auto closed = p.primary->gaps();
    REQUIRE(closed.ok());
    CHECK(closed->empty());
}

TEST_CASE("gap repair: an agent from before paging answers whole and is taken whole, and one whose pages do not move is refused") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink, 1000);
    pull_changes(*x);
    test::ReferenceAsker agent(his, x.get());
    Primary p;

    SECTION("an older agent: the whole snapshot, without done or next, whatever the body") {
        int snapshots = 0;
        auto older = [&](const std::string&, const std::string& type, const nlohmann::json& body) {
            if (type != "reference.snapshot") return agent.result(type, body);
            ++snapshots;
            auto whole = agent.result(type, nlohmann::json::object());
            if (whole) {
                whole->erase("done");
                whole->erase("next");
            }
            return whole;
        };
        GapRepair repair(*p.primary, older, SystemClock::instance(), small_pages(2));
        auto r = repair.repair(HospitalGap{"H001", 0, 0, 0, 0});
        INFO((r.ok() ? "" : r.error().describe()));
        REQUIRE(r.ok());
        CHECK(snapshots == 1);
        CHECK(primary_rows(p.path) == agent_rows(*x));
    }
    SECTION("an agent whose page is not the last yet holds no records") {
        auto stuck = [&](const std::string&, const std::string& type, const nlohmann::json& body) -> Result<nlohmann::json> {
            if (type != "reference.snapshot") return agent.result(type, body);
            return nlohmann::json{{"schema", 1}, {"hospital", "H001"}, {"seq", 1},
                                  {"records", nlohmann::json::array()}, {"next", "slot:S-1"}, {"done", false}};
        };
        GapRepair repair(*p.primary, stuck, SystemClock::instance(), small_pages(100));
        auto r = repair.repair(HospitalGap{"H001", 0, 0, 0, 0});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "reference.bad_answer");
        CHECK_FALSE(state_of(*p.primary));
        CHECK(primary_rows(p.path).empty());
    }
}
