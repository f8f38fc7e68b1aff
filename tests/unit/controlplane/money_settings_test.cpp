// The control plane's ledger.* settings (controlplane/money/money_desk.cpp, read_money_settings)
// as its config load reads them: a value that could not take effect is refused by name.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "controlplane/money/money_desk.h"

using namespace hisgate;

namespace {

// read_money_settings over `ledger` as the file's ledger section, then the load's finish().
Result<void> load_ledger_settings(const nlohmann::json& ledger, controlplane::money::MoneySettings* out = nullptr) {
    ConfigReader c(nlohmann::json{{"ledger", ledger}}, "/etc/hisgate/controlplane.json");
    auto s = controlplane::money::read_money_settings(c, "results.db");
    if (out) *out = s;
    return c.finish();
}

}  // namespace

TEST_CASE("money settings: ledger.max_reasks negative, not an integer, or above what max_probes leaves for re-asks is refused") {
    controlplane::money::MoneySettings s;
    // Re-asks take every second probe slot: max_probes 8 leaves room for 4.
    REQUIRE(load_ledger_settings({{"max_reasks", 4}}, &s));
    CHECK(s.ledger.confirmer.max_reasks == 4);
    REQUIRE(load_ledger_settings({{"max_probes", 20}, {"max_reasks", 10}}, &s));
    CHECK(s.ledger.confirmer.max_reasks == 10);
    REQUIRE(load_ledger_settings({{"max_reasks", 0}}, &s));  // 0: never re-asked
    CHECK(s.ledger.confirmer.max_reasks == 0);
    // Not named in the file: the default 3, lowered to what a small max_probes allows.
    REQUIRE(load_ledger_settings({{"max_probes", 2}}, &s));
    CHECK(s.ledger.confirmer.max_reasks == 1);
    REQUIRE(load_ledger_settings(nlohmann::json::object(), &s));
    CHECK(s.ledger.confirmer.max_reasks == 3);

    auto refused = load_ledger_settings({{"max_reasks", 5}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().cls == ErrorClass::Config);
    CHECK_THAT(refused.error().message,
               Catch::Contains("/etc/hisgate/controlplane.json: ledger.max_reasks: expected an integer from 0 to 4") &&
                   Catch::Contains("ledger.max_probes 8") && Catch::EndsWith("found 5"));
    auto small = load_ledger_settings({{"max_probes", 3}, {"max_reasks", 1000}});
    REQUIRE_FALSE(small);
    CHECK_THAT(small.error().message, Catch::Contains("ledger.max_reasks: expected an integer from 0 to 1") &&
                                          Catch::Contains("ledger.max_probes 3") && Catch::EndsWith("found 1000"));
    // A negative or a non-integer: refused by the file, the key and what is expected.
    auto negative = load_ledger_settings({{"max_reasks", -1}});
    REQUIRE_FALSE(negative);
    CHECK(negative.error().cls == ErrorClass::Config);
    CHECK_THAT(negative.error().message,
               Catch::Contains("/etc/hisgate/controlplane.json: ledger.max_reasks: expected an integer from 0 to") &&
                   Catch::EndsWith("found -1"));
    auto text = load_ledger_settings({{"max_reasks", "3"}});
    REQUIRE_FALSE(text);
    CHECK_THAT(text.error().message, Catch::EndsWith("ledger.max_reasks: expected an integer, found string \"3\""));
}

TEST_CASE("money settings: ledger.offline_patience_ms defaults to 24 h and below probe_cap_ms is refused") {
    controlplane::money::MoneySettings s;
    REQUIRE(load_ledger_settings(nlohmann::json::object(), &s));
    CHECK(s.ledger.confirmer.offline_patience == std::chrono::hours(24));
    REQUIRE(load_ledger_settings({{"offline_patience_ms", 600000}}, &s));
    CHECK(s.ledger.confirmer.offline_patience == std::chrono::minutes(10));

    auto short_one = load_ledger_settings({{"offline_patience_ms", 30000}});  // under the default probe_cap_ms 60000
    REQUIRE_FALSE(short_one);
    CHECK(short_one.error().cls == ErrorClass::Config);
    CHECK_THAT(short_one.error().message,
               Catch::Contains("ledger.offline_patience_ms: expected milliseconds, at least ledger.probe_cap_ms (60000") &&
                   Catch::EndsWith("found 30000"));
    auto text = load_ledger_settings({{"offline_patience_ms", "24h"}});
    REQUIRE_FALSE(text);
    CHECK_THAT(text.error().message, Catch::Contains("ledger.offline_patience_ms: expected an integer"));
}

TEST_CASE("money settings: ledger.his_workers from 1 to 64, default 16; outside it refused by name") {
    controlplane::money::MoneySettings s;
    REQUIRE(load_ledger_settings(nlohmann::json::object(), &s));
    CHECK(s.his_workers == 16);
    REQUIRE(load_ledger_settings({{"his_workers", 4}}, &s));
    CHECK(s.his_workers == 4);
    for (int bad : {0, 65}) {
        auto refused = load_ledger_settings({{"his_workers", bad}});
        REQUIRE_FALSE(refused);
        CHECK(refused.error().cls == ErrorClass::Config);
        CHECK_THAT(refused.error().message, Catch::Contains("ledger.his_workers: expected an integer from 1 to 64"));
    }
}
