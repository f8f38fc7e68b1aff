// Pulls against a real his-sim process: the first pull publishes everything, an unchanged
// one nothing, a change in the hospital's own records exactly that change; sequence numbers
// are gap-free and survive a restart; a change set the sink could not take is handed over
// again, in order, when the extractor opens next.
#include <catch2/catch.hpp>

#include <set>

#include "agent/extraction/extractor.h"
#include "simulated_his.h"

using namespace hisgate;
using hisgate::test::CollectingSink;
using hisgate::test::SimulatedHis;

namespace {

std::unique_ptr<extraction::Extractor> open_extractor(SimulatedHis& his, agent::EventSink& sink) {
    auto x = extraction::Extractor::open(his.adapter(), his.settings(), his.state_file(), "H001", sink);
    INFO((x.ok() ? "" : x.error().describe()));
    REQUIRE(x.ok());
    return std::move(x.value());
}

void run(sql::Db& db, const std::string& text, std::initializer_list<std::string> args = {}) {
    auto st = db.prepare(text);
    REQUIRE(st.ok());
    int i = 1;
    for (const auto& a : args) st->bind(i++, a);
    auto r = st->run();
    INFO((r.ok() ? "" : r.error().describe()));
    REQUIRE(r.ok());
}

std::string first_text(sql::Db& db, const std::string& text, std::initializer_list<std::string> args = {}) {
    auto st = db.prepare(text);
    REQUIRE(st.ok());
    int i = 1;
    for (const auto& a : args) st->bind(i++, a);
    REQUIRE(st->step());
    return st->text(0);
}

// The change in `cs` for entity/key, or null.
nlohmann::json change_of(const nlohmann::json& cs, const std::string& entity, const std::string& key) {
    for (const auto& c : cs["changes"])
        if (c["entity"] == entity && c["key"] == key) return c;
    return nullptr;
}

void check_gap_free(const std::vector<nlohmann::json>& sets) {
    for (size_t i = 0; i < sets.size(); ++i) {
        CHECK(sets[i]["seq"] == static_cast<int64_t>(i + 1));
        CHECK(sets[i]["baseSeq"] == static_cast<int64_t>(i));
    }
}

}  // namespace

TEST_CASE("extraction pull: the first pull publishes the whole reference data as seq 1, an unchanged one nothing") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink);

    auto first = x->extract_now();
    INFO((first.ok() ? "" : first.error().describe()));
    REQUIRE(first.ok());
    CHECK(first->seq == 1);

    // What the hospital holds, read from its own records: every department and doctor, and
    // the slots of the 7-day window starting today.
    auto db = his.his_db();
    std::string from = test::today_utc(), to = test::days_after(from, 6);
    int64_t departments = test::count(db, "SELECT count(*) FROM departments");
    int64_t doctors = test::count(db, "SELECT count(*) FROM doctors");
    int64_t slots = test::count(db, "SELECT count(*) FROM slots WHERE date >= '" + from + "' AND date <= '" + to + "'");
    REQUIRE(departments > 0);
    REQUIRE(doctors > 0);
    REQUIRE(slots > 0);

    auto sets = sink.changesets();
    REQUIRE(sets.size() == 1);
    const auto& cs = sets[0];
    CHECK(cs["seq"] == 1);
    CHECK(cs["baseSeq"] == 0);
    CHECK(cs["hospital"] == "H001");
    CHECK(cs["source"] == "pull");
    CHECK(cs["window"]["from"] == from);
    CHECK(cs["window"]["to"] == to);
    // And the hospital's own record, from its parameters (first in the change set).
    CHECK(first->changes == static_cast<size_t>(1 + departments + doctors + slots));
    REQUIRE(cs["changes"].size() == first->changes);
    std::map<std::string, int64_t> per_entity;
    for (const auto& c : cs["changes"]) {
        CHECK(c["op"] == "upsert");
        CHECK(c["data"].is_object());
        ++per_entity[c["entity"].get<std::string>()];
    }
    CHECK(per_entity["hospital"] == 1);
    CHECK(cs["changes"][0]["entity"] == "hospital");
    CHECK(per_entity["department"] == departments);
    CHECK(per_entity["doctor"] == doctors);
    CHECK(per_entity["slot"] == slots);
    // A slot as the HIS holds it.
    std::string slot_id = first_text(db, "SELECT slot_id FROM slots WHERE date = ? ORDER BY slot_id LIMIT 1", {from});
    auto slot = change_of(cs, "slot", slot_id);
    REQUIRE(slot.is_object());
    CHECK(slot["data"]["capacity"] == test::count(db, "SELECT capacity FROM slots WHERE slot_id = '" + slot_id + "'"));
    CHECK(slot["data"]["date"] == from);

    auto again = x->extract_now();
    REQUIRE(again.ok());
    CHECK(again->seq == 0);
    CHECK(again->changes == 0);
    CHECK(sink.changesets().size() == 1);
    CHECK(x->last_seq() == 1);
}

TEST_CASE("extraction pull: a change in the hospital's records is published as exactly that change, and the seq survives a restart") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    std::string today = test::today_utc();
    auto db = his.his_db();
    std::string slot_id = first_text(db, "SELECT slot_id FROM slots WHERE date = ? ORDER BY slot_id LIMIT 1", {today});
    std::string department = first_text(db, "SELECT department_id FROM departments ORDER BY department_id LIMIT 1");
    {
        auto x = open_extractor(his, sink);
        REQUIRE(x->extract_now().ok());
        REQUIRE(sink.changesets().size() == 1);

        // The hospital adds a doctor and opens more places in one slot.
        run(db, "INSERT INTO doctors(doctor_id, department_id, name, title) VALUES('D-NEW', ?, 'Dr New', 'Attending')",
            {department});
        run(db, "UPDATE slots SET capacity = capacity + 5 WHERE slot_id = ?", {slot_id});
        auto second = x->extract_now();
        REQUIRE(second.ok());
        CHECK(second->seq == 2);
        CHECK(second->changes == 2);
        auto sets = sink.changesets();
        REQUIRE(sets.size() == 2);
        const auto& cs = sets[1];
        CHECK(cs["seq"] == 2);
        CHECK(cs["baseSeq"] == 1);
        REQUIRE(cs["changes"].size() == 2);
        auto doctor = change_of(cs, "doctor", "D-NEW");
        REQUIRE(doctor.is_object());
        CHECK(doctor["op"] == "upsert");
        CHECK(doctor["data"] == nlohmann::json{{"doctorId", "D-NEW"}, {"departmentId", department},
                                               {"name", "Dr New"}, {"title", "Attending"}});
        auto slot = change_of(cs, "slot", slot_id);
        REQUIRE(slot.is_object());
        CHECK(slot["data"]["capacity"] == test::count(db, "SELECT capacity FROM slots WHERE slot_id = '" + slot_id + "'"));
        // Upserts of doctors come before those of slots.
        CHECK(cs["changes"][0]["entity"] == "doctor");
    }
    // Restart: a new extractor on the same state file knows the snapshot and the seq.
    auto x = open_extractor(his, sink);
    CHECK(x->last_seq() == 2);
    auto unchanged = x->extract_now();
    REQUIRE(unchanged.ok());
    CHECK(unchanged->seq == 0);

    // The hospital withdraws a slot nobody booked: a delete, seq 3.
    std::string withdrawn = first_text(
        db, "SELECT slot_id FROM slots WHERE date = ? AND booked = 0 AND slot_id NOT IN (SELECT slot_id FROM bookings) "
            "AND slot_id <> ? ORDER BY slot_id DESC LIMIT 1",
        {today, slot_id});
    run(db, "DELETE FROM slots WHERE slot_id = ?", {withdrawn});
    auto third = x->extract_now();
    REQUIRE(third.ok());
    CHECK(third->seq == 3);
    auto sets = sink.changesets();
    REQUIRE(sets.size() == 3);
    REQUIRE(sets[2]["changes"].size() == 1);
    CHECK(sets[2]["changes"][0] == nlohmann::json{{"entity", "slot"}, {"op", "delete"}, {"key", withdrawn}, {"data", nullptr}});
    check_gap_free(sets);
}

TEST_CASE("extraction pull: a narrower window never deletes the slots outside it") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink);
    REQUIRE(x->extract_now().ok());
    REQUIRE(sink.changesets().size() == 1);

    std::string today = test::today_utc();
    auto only_today = x->extract(today, today);
    REQUIRE(only_today.ok());
    CHECK(only_today->seq == 0);
    CHECK(sink.changesets().size() == 1);

    // Within the narrow window a change is still seen, and only that.
    auto db = his.his_db();
    std::string slot_id = first_text(db, "SELECT slot_id FROM slots WHERE date = ? ORDER BY slot_id LIMIT 1", {today});
    run(db, "UPDATE slots SET fee_cents = fee_cents + 100 WHERE slot_id = ?", {slot_id});
    auto changed = x->extract(today, today);
    REQUIRE(changed.ok());
    CHECK(changed->seq == 2);
    CHECK(changed->changes == 1);
    auto sets = sink.changesets();
    REQUIRE(sets.size() == 2);
    CHECK(sets[1]["window"] == nlohmann::json{{"from", today}, {"to", today}});
    CHECK(change_of(sets[1], "slot", slot_id)["op"] == "upsert");

    // A window that is not one is refused before the HIS is asked.
    for (auto [from, to] : {std::pair{today, test::days_after(today, -1)}, std::pair{std::string("2026-13-01"), today},
                            std::pair{std::string("today"), today}}) {
        INFO(from << " .. " << to);
        auto bad = x->extract(from, to);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().code == "extraction.bad_window");
        CHECK_THAT(bad.error().message, Catch::Contains("expected two dates YYYY-MM-DD"));
    }
    CHECK(sink.changesets().size() == 2);
}

TEST_CASE("extraction pull: change sets the sink could not take stay pending and are handed over in order at the next open") {
    SimulatedHis his;
    REQUIRE(his.start());
    auto db = his.his_db();
    std::string department = first_text(db, "SELECT department_id FROM departments ORDER BY department_id LIMIT 1");
    {
        CollectingSink failing;
        failing.fail = true;
        auto x = open_extractor(his, failing);
        auto first = x->extract_now();
        REQUIRE(first.ok());  // committed: the snapshot and seq moved, the hand-over is owed
        CHECK(first->seq == 1);
        REQUIRE(first->handover_error);
        CHECK(first->handover_error->code == "agent.outbox");
        run(db, "INSERT INTO doctors(doctor_id, department_id, name, title) VALUES('D-LATE', ?, 'Dr Late', 'Resident')",
            {department});
        auto second = x->extract_now();
        REQUIRE(second.ok());
        CHECK(second->seq == 2);
        CHECK(second->handover_error);
        CHECK(failing.size() == 0);
    }
    CollectingSink sink;
    auto x = open_extractor(his, sink);
    auto sets = sink.changesets();
    REQUIRE(sets.size() == 2);
    check_gap_free(sets);
    CHECK(sets[1]["changes"].size() == 1);
    CHECK(change_of(sets[1], "doctor", "D-LATE").is_object());

    // Handed over once: a further open hands over nothing again.
    CollectingSink later;
    x.reset();
    auto y = open_extractor(his, later);
    CHECK(later.size() == 0);
    CHECK(y->last_seq() == 2);
}

TEST_CASE("extraction pull: an unreachable HIS is an error that changes nothing") {
    SimulatedHis his;
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink);
    REQUIRE(x->extract_now().ok());
    his.stop();
    auto failed = x->extract_now();
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().cls == ErrorClass::Unavailable);
    CHECK(sink.changesets().size() == 1);
    CHECK(x->last_seq() == 1);
}

TEST_CASE("extraction: start() pulls at once and stop() ends the schedule") {
    SimulatedHis his(R"({"interval": "10s"})");
    REQUIRE(his.start());
    CollectingSink sink;
    auto x = open_extractor(his, sink);
    REQUIRE(x->start().ok());
    CHECK(test::eventually([&] { return sink.changesets().size() == 1; }));
    x->stop();
    CHECK(sink.changesets()[0]["seq"] == 1);
}
