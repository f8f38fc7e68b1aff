// The public partition's primary on a real SQLite file (issue 14 item 1): change sets apply
// once by (hospital, seq), a gap holds what comes early and flags the hospital until the
// missing ones or a snapshot arrive, malformed change sets change nothing, and the stream a
// replica follows rebuilds the same tables, checksum for checksum.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include "primary_fixture.h"

using namespace hisgate;
using namespace hisgate::controlplane::public_partition;
using namespace hisgate::test::public_partition;

TEST_CASE("public primary: change sets apply once each, in order, and the stream rebuilds the same tables") {
    Primary p;
    CHECK(p.apply(change_set("H001", 1, {doctor("D1", "王芳"), slot("S1", 0)})).applied == Applied::Applied);
    CHECK(p.apply(change_set("H001", 2, {slot("S1", 1)})).applied == Applied::Applied);
    // A QoS 1 repeat, and an older resend: nothing changes, nothing is streamed.
    auto head = p.primary->head();
    REQUIRE(head.ok());
    CHECK(p.apply(change_set("H001", 2, {slot("S1", 1)})).applied == Applied::Past);
    CHECK(p.apply(change_set("H001", 1, {slot("S1", 0)})).applied == Applied::Past);
    auto again = p.primary->head();
    REQUIRE(again.ok());
    CHECK(again->pos == head->pos);
    CHECK(again->checksum == head->checksum);
    CHECK(p.apply(change_set("H002", 1, {doctor("D1", "Li Wei")})).applied == Applied::Applied);
    auto at = p.follow("replica.db");
    CHECK(at.pos == 3);
    auto final_head = p.primary->head();
    REQUIRE(final_head.ok());
    CHECK(at.checksum == final_head->checksum);
    auto states = p.primary->hospitals();
    REQUIRE(states.ok());
    REQUIRE(states->size() == 2);
    CHECK(states->at(0).seq == 2);
    CHECK_FALSE(states->at(0).suspect);
}

TEST_CASE("public primary: a gap holds the change sets that come early, flags the hospital, and closes when the missing one arrives") {
    Primary p;
    p.apply(change_set("H001", 1, {doctor("D1", "王芳")}));
    auto held = p.apply(change_set("H001", 4, {slot("S4", 0)}));
    CHECK(held.applied == Applied::Held);
    CHECK(held.seq == 1);
    CHECK(p.apply(change_set("H001", 3, {slot("S3", 0)})).applied == Applied::Held);
    auto gaps = p.primary->gaps();
    REQUIRE(gaps.ok());
    REQUIRE(gaps->size() == 1);
    CHECK(gaps->at(0).seq == 1);
    CHECK(gaps->at(0).highest == 4);
    CHECK(gaps->at(0).held == 2);
    auto states = p.primary->hospitals();
    REQUIRE(states.ok());
    CHECK(states->at(0).suspect);  // replicas flag it from the state entry on

    auto closed = p.apply(change_set("H001", 2, {slot("S2", 0)}));
    CHECK(closed.applied == Applied::Applied);
    CHECK(closed.seq == 4);  // 2, then the held 3 and 4
    gaps = p.primary->gaps();
    REQUIRE(gaps.ok());
    CHECK(gaps->empty());
    states = p.primary->hospitals();
    REQUIRE(states.ok());
    CHECK_FALSE(states->at(0).suspect);
    auto at = p.follow("replica.db");
    CHECK(at.pos == 5);  // 1, the state entry, 2, 3, 4
}

TEST_CASE("public primary: a snapshot closes a gap, an older one changes nothing, one that contradicts the stream wins and is counted") {
    Primary p({.max_held = 1});
    p.apply(change_set("H001", 1, {doctor("D1", "王芳"), slot("S1", 0)}));
    p.apply(change_set("H001", 3, {slot("S3", 0)}));
    p.apply(change_set("H001", 5, {slot("S5", 0)}));  // past max_held: not kept, the gap covers it
    auto gaps = p.primary->gaps();
    REQUIRE(gaps.ok());
    REQUIRE(gaps->size() == 1);
    CHECK(gaps->at(0).held == 1);
    CHECK(gaps->at(0).highest == 5);

    nlohmann::json snap = {{"schema", 1}, {"hospital", "H001"}, {"seq", 5},
                           {"records", {doctor("D1", "王芳"), slot("S3", 0), slot("S5", 0)}}};
    for (auto& r : snap["records"]) r.erase("op");
    auto s = parse_snapshot(snap, "H001");
    REQUIRE(s.ok());
    auto applied = p.primary->apply_snapshot(*s);
    REQUIRE(applied.ok());
    CHECK(applied->applied == Applied::Applied);
    CHECK(applied->seq == 5);
    CHECK_FALSE(applied->contradicted);
    gaps = p.primary->gaps();
    REQUIRE(gaps.ok());
    CHECK(gaps->empty());

    snap["seq"] = 4;
    auto older = p.primary->apply_snapshot(*parse_snapshot(snap, "H001"));
    REQUIRE(older.ok());
    CHECK(older->applied == Applied::Past);

    snap["seq"] = 5;
    snap["records"] = {doctor("D1", "王芳")};
    snap["records"][0].erase("op");
    auto contradicting = p.primary->apply_snapshot(*parse_snapshot(snap, "H001"));
    REQUIRE(contradicting.ok());
    CHECK(contradicting->contradicted);
    auto at = p.follow("replica.db");  // S1, S3 and S5 are gone on the replica too
    auto head = p.primary->head();
    REQUIRE(head.ok());
    CHECK(at.checksum == head->checksum);
}

TEST_CASE("public primary: a malformed change set is refused whole, naming what is wrong") {
    auto body = change_set("H001", 1, {doctor("D1", "王芳"), slot("S1", 0)});
    SECTION("unknown schema") {
        body["schema"] = 2;
        auto r = parse_change_set(body, "H001");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "changeset.schema");
    }
    SECTION("another hospital than the topic's") {
        auto r = parse_change_set(body, "H002");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "changeset.hospital");
    }
    SECTION("baseSeq not seq - 1") {
        body["baseSeq"] = 5;
        auto r = parse_change_set(body, "H001");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "changeset.seq");
    }
    SECTION("a record with a bad field, after a good one") {
        body["changes"][1]["data"]["date"] = "7 Dec";
        auto r = parse_change_set(body, "H001");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == "changeset.record");
        CHECK(r.error().message.find("changes[1].data.date") != std::string::npos);
    }
    SECTION("a key that is not the data's id") {
        body["changes"][0]["key"] = "D9";
        auto r = parse_change_set(body, "H001");
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find("changes[0].data.doctorId") != std::string::npos);
    }
    SECTION("an unknown entity, a missing op, a non-object data") {
        for (auto mutate : std::vector<std::function<void(nlohmann::json&)>>{
                 [](nlohmann::json& c) { c["entity"] = "nurse"; }, [](nlohmann::json& c) { c.erase("op"); },
                 [](nlohmann::json& c) { c["data"] = "x"; }, [](nlohmann::json& c) { c["key"] = std::string(200, 'k'); }}) {
            auto bad = body;
            mutate(bad["changes"][0]);
            auto r = parse_change_set(bad, "H001");
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code == "changeset.record");
        }
    }
}

TEST_CASE("public primary: the stream is served in pieces, and a replica too far behind is told to re-seed") {
    Primary p({.stream_keep = 10});
    for (int64_t seq = 1; seq <= 1005; ++seq) p.apply(change_set("H001", seq, {slot("S1", static_cast<int>(seq % 4))}));
    auto head = p.primary->head();
    REQUIRE(head.ok());
    CHECK(head->pos == 1005);
    CHECK(head->oldest == 991);  // pruned at pos 1000 to the last 10
    auto gone = p.primary->stream_after(5, 100, 1 << 20);
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().code == "stream.gone");
    auto ahead = p.primary->stream_after(2000, 100, 1 << 20);
    REQUIRE_FALSE(ahead.ok());
    CHECK(ahead.error().code == "stream.ahead");
    auto piece = p.primary->stream_after(990, 3, 1 << 20);
    REQUIRE(piece.ok());
    CHECK(piece->size() == 3);
    auto small = p.primary->stream_after(990, 100, 10);  // one entry at least, whatever the byte cap
    REQUIRE(small.ok());
    CHECK(small->size() == 1);
    auto none = p.primary->stream_after(1005, 100, 1 << 20);
    REQUIRE(none.ok());
    CHECK(none->empty());
}

TEST_CASE("public primary: a snapshot file holds the tables at one position, checksum and all") {
    Primary p;
    p.apply(change_set("H001", 1, {doctor("D1", "王芳"), slot("S1", 0)}));
    p.apply(change_set("H002", 1, {doctor("D7", "Li Wei")}));
    auto written = p.primary->write_snapshot(p.dir + "/seed.db");
    REQUIRE(written.ok());
    CHECK(written->pos == 2);
    auto db = sql::Db::open(p.dir + "/seed.db");
    REQUIRE(db.ok());
    ReferenceTables seed(*db);
    auto at = seed.position();
    REQUIRE(at.ok());
    CHECK(at->pos == 2);
    auto recomputed = seed.recompute_checksum();
    REQUIRE(recomputed.ok());
    CHECK(*recomputed == at->checksum);
    auto hits = db->prepare("SELECT (SELECT count(*) FROM ref_doctor_text WHERE text LIKE '%王芳 %'), "
                             "(SELECT count(*) FROM ref_doctors WHERE search_text LIKE '%芳%'), "
                             "(SELECT count(*) FROM ref_doctor_text WHERE text LIKE '%wangfang%')");
    REQUIRE(hits.ok());
    REQUIRE(hits->step());
    CHECK(hits->integer(0) == 1);
    CHECK(hits->integer(1) == 1);
    CHECK(hits->integer(2) == 1);  // by pinyin too
}
