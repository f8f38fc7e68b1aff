// GET /api/v1/fleet's query (controlplane/fleet_api.h): every parameter bounded and
// checked, cursor pages that follow the whole fleet by hospital id.
#include <catch2/catch.hpp>

#include "controlplane/fleet_api.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;
using namespace hisgate::controlplane;

namespace {
void born(HospitalRegistry& r, const std::string& hid, const std::string& region, int pmax = 1) {
    IncomingMessage m;
    m.topic = topics::state(hid);
    m.payload = Envelope::make("state", hid,
                               {{"online", true}, {"session", 1}, {"seq", 1}, {"region", region}, {"adapter", "rest"},
                                {"version", "0.9.0"}, {"protocol", {{"min", pmax}, {"max", pmax}}}})
                    .to_json();
    REQUIRE(r.apply_state(m).ok());
}

std::string bad(const HospitalRegistry& r, const std::string& query) {
    auto page = fleet_page(r, query);
    REQUIRE_FALSE(page.ok());
    CHECK(page.error().cls == ErrorClass::BadInput);
    CHECK(page.error().code == "fleet.bad_query");
    return page.error().message;
}
}  // namespace

TEST_CASE("fleet api: pages of the whole fleet by id, with an opaque cursor") {
    HospitalRegistry r;
    for (int i = 1; i <= 7; ++i) born(r, "H00" + std::to_string(i), i <= 4 ? "south" : "north");
    std::vector<std::string> ids;
    std::string query = "limit=3";
    int pages = 0;
    while (true) {
        auto page = fleet_page(r, query);
        REQUIRE(page.ok());
        ++pages;
        for (const auto& h : (*page)["hospitals"]) ids.push_back(h["hospitalId"]);
        if (!page->contains("nextCursor")) break;
        query = "limit=3&cursor=" + (*page)["nextCursor"].get<std::string>();
    }
    CHECK(pages == 3);
    CHECK(ids == std::vector<std::string>{"H001", "H002", "H003", "H004", "H005", "H006", "H007"});
    auto south = fleet_page(r, "region=south&state=online");
    REQUIRE(south.ok());
    CHECK((*south)["hospitals"].size() == 4);
    CHECK_FALSE(south->contains("nextCursor"));
    auto one = fleet_one(r, "H005");
    REQUIRE(one.ok());
    CHECK((*one)["region"] == "north");
    CHECK((*one)["state"] == "online");
    auto unknown = fleet_one(r, "H404");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code == "hospital.unknown");
}

TEST_CASE("fleet api: the state filter sees the version window") {
    HospitalRegistry r;  // speaks [1,1]
    born(r, "H001", "south", 1);
    born(r, "H002", "south", 0);
    auto incompatible = fleet_page(r, "state=incompatible");
    REQUIRE(incompatible.ok());
    REQUIRE((*incompatible)["hospitals"].size() == 1);
    CHECK((*incompatible)["hospitals"][0]["hospitalId"] == "H002");
    CHECK((*incompatible)["hospitals"][0]["state"] == "incompatible");
}

TEST_CASE("fleet api: each query parameter is checked, and the error names it") {
    HospitalRegistry r;
    CHECK(bad(r, "limit=0").find("limit") != std::string::npos);
    CHECK(bad(r, "limit=1001").find("1 to 1000") != std::string::npos);
    bad(r, "limit=abc");
    bad(r, "limit=99999999999999999999");
    CHECK(bad(r, "state=sleeping").find("online, offline or incompatible") != std::string::npos);
    CHECK(bad(r, "colour=red").find("colour") != std::string::npos);
    CHECK(bad(r, "region=south&region=north").find("at most once") != std::string::npos);
    bad(r, "region=" + std::string(65, 'a'));
    bad(r, "region=");
    bad(r, "dialect=a%20b");
    bad(r, "version=%00");
    CHECK(bad(r, "cursor=H001").find("cursor") != std::string::npos);
    bad(r, "cursor=h1zz");
    bad(r, "cursor=h1" + std::string(300, 'a'));
    bad(r, std::string(3000, 'a'));
    CHECK(fleet_cursor_position(fleet_cursor("H001")) == "H001");
    CHECK(fleet_cursor_position(fleet_cursor("../x")).empty());
}
