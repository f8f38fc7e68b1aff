// What the public partition's tests share: change-set bodies as an agent sends them, and a
// PublicPrimary on a real SQLite file in a temporary folder of its own (removed after).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "controlplane/public_partition/public_primary.h"
#include "tests/support/process.h"

namespace hisgate::test::public_partition {

using namespace hisgate::controlplane::public_partition;

inline nlohmann::json slot(const std::string& id, int booked, const std::string& date = "2026-12-07") {
    return {{"entity", "slot"}, {"op", "upsert"}, {"key", id},
            {"data", {{"slotId", id}, {"doctorId", "D1"}, {"departmentId", "DEP1"}, {"date", date}, {"start", "09:00"},
                      {"end", "09:15"}, {"half", "AM"}, {"capacity", 4}, {"booked", booked}, {"feeCents", 2500}}}};
}

inline nlohmann::json doctor(const std::string& id, const std::string& name) {
    return {{"entity", "doctor"}, {"op", "upsert"}, {"key", id},
            {"data", {{"doctorId", id}, {"departmentId", "DEP1"}, {"name", name}, {"title", "主任医师"}}}};
}

inline nlohmann::json change_set(const std::string& hospital, int64_t seq, nlohmann::json changes) {
    return {{"schema", 1},  {"seq", seq},       {"baseSeq", seq - 1}, {"hospital", hospital},
            {"source", "pull"}, {"createdAt", "2026-12-04T10:00:00Z"}, {"changes", std::move(changes)}};
}

inline ChangeSet parsed(const nlohmann::json& body, const std::string& hospital = "H001") {
    auto cs = parse_change_set(body, hospital);
    REQUIRE(cs.ok());
    return cs.value();
}

struct Primary {
    std::string dir = test::make_temp_dir("hisgate-public");
    ManualClock clock;
    std::unique_ptr<PublicPrimary> primary;
    explicit Primary(PrimarySettings settings = {}) {
        auto p = open_sqlite_public_primary(dir + "/public.db", clock, settings);
        REQUIRE(p.ok());
        primary = std::move(p.value());
    }
    ~Primary() {
        primary.reset();
        std::filesystem::remove_all(dir);
    }
    ApplyOutcome apply(const nlohmann::json& body) {
        auto r = primary->apply(parsed(body, body["hospital"]));
        REQUIRE(r.ok());
        return r.value();
    }
    // What a replica rebuilds from the stream, in a file of its own.
    Position follow(const std::string& file) {
        auto db = sql::Db::open_with_schema(dir + "/" + file, ReferenceTables::schema());
        REQUIRE(db.ok());
        ReferenceTables tables(*db);
        auto entries = primary->stream_after(0, 100000, 1 << 30);
        REQUIRE(entries.ok());
        for (const auto& text : *entries) {
            auto e = parse_stream_entry(nlohmann::json::parse(text));
            REQUIRE(e.ok());
            auto applied = db->transaction([&]() -> Result<uint64_t> { return tables.apply(*e, 0); });
            REQUIRE(applied.ok());
            CHECK(*applied == e->checksum);  // the replica's tables match the primary's at every entry
        }
        auto at = tables.position();
        REQUIRE(at.ok());
        auto recomputed = tables.recompute_checksum();
        REQUIRE(recomputed.ok());
        CHECK(*recomputed == at->checksum);
        return at.value();
    }
};


}  // namespace hisgate::test::public_partition
