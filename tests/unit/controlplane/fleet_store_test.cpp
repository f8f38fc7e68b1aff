// The fleet registry's store (issue 13 item 1) on a real SQLite file: records survive a
// reopen, filters and pages by hospital id.
#include <catch2/catch.hpp>

#include "controlplane/fleet_store.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {
struct Fleet {
    std::string dir = test::make_temp_dir("hisgate-fleet-store");
    std::unique_ptr<FleetStore> store;
    Fleet() { reopen(); }
    ~Fleet() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        store.reset();
        auto opened = open_sqlite_fleet_store(dir + "/fleet.db");
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
    std::vector<std::string> ids(FleetQuery q) {
        auto found = store->list(q);
        REQUIRE(found.ok());
        std::vector<std::string> out;
        for (const auto& r : *found) out.push_back(r.hospital_id);
        return out;
    }
};

FleetRecord hospital(const std::string& id, const std::string& region, const std::string& dialect, bool online,
                     int pmin = 1, int pmax = 1) {
    FleetRecord r;
    r.hospital_id = id;
    r.name = "Hospital " + id;
    r.region = region;
    r.dialect = dialect;
    r.version = "0.9.0";
    r.online = online;
    r.since_ms = 1000;
    r.first_seen_ms = 500;
    r.updated_ms = 1000;
    r.last_heartbeat_ms = online ? 1000 : 0;
    r.protocol_min = pmin;
    r.protocol_max = pmax;
    r.session = 7;
    r.seq = 3;
    r.params_hash = "abc";
    r.body = {{"online", online}, {"queue", {{"depth", 4}}}, {"certNotAfter", "2027-01-01T00:00:00Z"}};
    return r;
}
}  // namespace

TEST_CASE("fleet store: a record is kept whole across a reopen") {
    Fleet f;
    REQUIRE(f.store->put(hospital("H001", "south", "hl7v2", false)).ok());
    f.reopen();
    auto got = f.store->get("H001");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    const FleetRecord& r = **got;
    CHECK(r.name == "Hospital H001");
    CHECK(r.region == "south");
    CHECK(r.dialect == "hl7v2");
    CHECK_FALSE(r.online);
    CHECK(r.since_ms == 1000);
    CHECK(r.first_seen_ms == 500);
    CHECK(r.session == 7);
    CHECK(r.seq == 3);
    CHECK(r.protocol_min == 1);
    CHECK(r.body["queue"]["depth"] == 4);
    CHECK(r.body["certNotAfter"] == "2027-01-01T00:00:00Z");
    auto none = f.store->get("H404");
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());
}

TEST_CASE("fleet store: filters by region, dialect, version and state, in hospital id order") {
    Fleet f;
    REQUIRE(f.store->put(hospital("H003", "north", "rest", true)).ok());
    REQUIRE(f.store->put(hospital("H001", "south", "hl7v2", true)).ok());
    REQUIRE(f.store->put(hospital("H002", "south", "rest", false)).ok());
    REQUIRE(f.store->put(hospital("H004", "south", "hl7v2", true, 0, 0)).ok());  // too old for [1,1]
    FleetQuery all;
    CHECK(f.ids(all) == std::vector<std::string>{"H001", "H002", "H003", "H004"});
    FleetQuery south;
    south.region = "south";
    CHECK(f.ids(south) == std::vector<std::string>{"H001", "H002", "H004"});
    FleetQuery rest;
    rest.dialect = "rest";
    CHECK(f.ids(rest) == std::vector<std::string>{"H002", "H003"});
    FleetQuery other_version;
    other_version.version = "0.1.0";
    CHECK(f.ids(other_version).empty());
    FleetQuery online;
    online.state = FleetStateFilter::Online;
    CHECK(f.ids(online) == std::vector<std::string>{"H001", "H003"});
    FleetQuery offline;
    offline.state = FleetStateFilter::Offline;
    CHECK(f.ids(offline) == std::vector<std::string>{"H002"});
    FleetQuery incompatible;
    incompatible.state = FleetStateFilter::Incompatible;
    CHECK(f.ids(incompatible) == std::vector<std::string>{"H004"});
    FleetQuery south_online;
    south_online.region = "south";
    south_online.state = FleetStateFilter::Online;
    CHECK(f.ids(south_online) == std::vector<std::string>{"H001"});
}

TEST_CASE("fleet store: pages resume after the last id, whatever was written meanwhile") {
    Fleet f;
    for (int i = 1; i <= 25; ++i) {
        char id[8];
        std::snprintf(id, sizeof id, "H%03d", i);
        REQUIRE(f.store->put(hospital(id, "south", "hl7v2", i % 2 == 0)).ok());
    }
    std::vector<std::string> seen;
    FleetQuery q;
    q.limit = 10;
    while (true) {
        auto page = f.ids(q);
        seen.insert(seen.end(), page.begin(), page.end());
        if (page.size() < 10) break;
        q.after = page.back();
        // A write between pages (a heartbeat) neither repeats nor skips a hospital.
        REQUIRE(f.store->put(hospital("H001", "south", "hl7v2", false)).ok());
    }
    REQUIRE(seen.size() == 25);
    CHECK(seen.front() == "H001");
    CHECK(seen.back() == "H025");
    CHECK(std::is_sorted(seen.begin(), seen.end()));
}
