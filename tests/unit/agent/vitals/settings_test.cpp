#include <catch2/catch.hpp>

#include "agent/vitals/vitals_settings.h"
#include "config-params/catalog.h"
#include "config-params/param_set.h"

using namespace hisgate;

namespace {
Result<vitals::VitalsSettings> settings(const nlohmann::json& v) {
    nlohmann::json file = {{"hospital", {{"id", "H001"}, {"region", "south"}}},
                           {"his", {{"dialect", "hl7v2-mllp"}, {"endpoint", "127.0.0.1:1"}}},
                           {"vitals", v}};
    auto p = params::ParamSet::validate(params::Catalog::builtin().value(), file, "test");
    if (!p) return p.error();
    return vitals::settings_from_params(p.value());
}
}  // namespace

TEST_CASE("vitals settings: defaults, and what the catalog cannot check") {
    auto off = settings(nlohmann::json::object());
    REQUIRE(off.ok());
    CHECK_FALSE(off->enabled);
    CHECK(off->codes.at("52").name == "heart_rate");
    CHECK(off->codes.at("2308").info);
    CHECK(off->interface_of("anything") == vitals::Interface::Unsolicited);

    auto on = settings({{"enabled", true}, {"ward_networks", {"10.40.0.0/16"}}, {"interfaces", {{"PM-50", "realtime"}}}});
    REQUIRE(on.ok());
    CHECK(on->interface_of("PM-50") == vitals::Interface::Realtime);

    auto no_networks = settings({{"enabled", true}});
    REQUIRE_FALSE(no_networks.ok());
    CHECK_THAT(no_networks.error().message, Catch::Contains("vitals.ward_networks"));

    auto bad_code = settings({{"codes", {{"52", {{"name", "Heart Rate"}, {"unit", "/min"}}}, {"51", "spo2"}}}});
    REQUIRE_FALSE(bad_code.ok());
    CHECK_THAT(bad_code.error().message, Catch::Contains("vitals.codes[\"52\"].name"));
    CHECK_THAT(bad_code.error().message, Catch::Contains("vitals.codes[\"51\"]"));

    auto times = settings({{"stale_after", "10s"}, {"lost_after", "5s"}});
    REQUIRE_FALSE(times.ok());
    CHECK_THAT(times.error().message, Catch::Contains("vitals.lost_after"));
}
