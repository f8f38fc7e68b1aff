// The agent's side of remote configuration (agent/config_apply.h) in-process, time stepped
// by a ManualClock: standard mode waits for the quiet window, real-time applies at once, a
// failing path check puts the previous set back; and the feature flags' bucketing and
// version gates (config-params/feature_flags.h).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "adapters/registry.h"
#include "agent/agent_config.h"
#include "agent/config_apply.h"
#include "common/clock.h"
#include "common/digest.h"
#include "config-params/feature_flags.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json config_apply_params(const std::string& timeout) {
    return {{"hospital", {{"id", "H001"}, {"region", "south"}, {"timezone", "UTC"}}},
            {"his", {{"dialect", "hl7v2-mllp"}, {"endpoint", "127.0.0.1:9"}, {"answer_timeout", timeout}}},
            {"config", {{"quiet_window", {{"from", "02:00"}, {"until", "04:00"}}}}}};
}

json config_apply_body(const json& params, int64_t version, const std::string& mode) {
    return {{"params", params}, {"version", version}, {"hash", sha256_hex(params.dump())}, {"mode", mode}};
}

struct RecordedEvents : agent::EventSink {
    std::vector<std::pair<std::string, json>> events;
    Result<void> emit(const std::string& type, const json& body) override {
        events.emplace_back(type, body);
        return {};
    }
};

// An applier over a real hl7 adapter (built, never connected: the path check is the test's).
struct ConfigApplyFixture {
    std::string dir = test::make_temp_dir("config-apply");
    std::string params_file = dir + "/params.json";
    ManualClock clock;
    std::vector<std::string> failing_checks;  // what the path check answers after a swap
    int checks_run = 0;
    RecordedEvents events;
    std::unique_ptr<agent::LiveAdapter> live;
    std::unique_ptr<agent::ConfigApplier> applier;

    ConfigApplyFixture() {
        test::write_file(params_file, config_apply_params("3s").dump());
        const auto& catalog = params::Catalog::builtin();
        auto set = params::ParamSet::load_file(catalog.value(), params_file);
        REQUIRE(set.ok());
        live = std::make_unique<agent::LiveAdapter>(std::shared_ptr<HisAdapter>(AdapterRegistry::builtin().create(*set).value()));
        agent::ConfigHooks hooks;
        hooks.path_check = [this](HisAdapter&, const params::ParamSet&) {
            ++checks_run;
            return failing_checks;
        };
        auto opened = agent::ConfigApplier::open({"H001", params_file, dir + "/state.db", "0.3.0"}, *live,
                                                 agent::rules_from_params(*set, "test").value(), hooks, clock);
        REQUIRE(opened.ok());
        applier = std::move(opened.value());
        applier->attach(live.get(), &events);
    }
    json on_disk() const { return json::parse(test::read_file(params_file)); }
};

}  // namespace

TEST_CASE("config apply: standard mode waits for the quiet window, real-time applies at once") {
    ConfigApplyFixture f;  // the clock reads 2026-01-05 00:00 UTC; the window is 02:00-04:00 UTC
    auto queued = f.applier->apply(config_apply_body(config_apply_params("2s"), 1, "standard"));
    REQUIRE(queued.ok());
    CHECK(queued.value()["outcome"] == "queued");
    CHECK(queued.value()["applyAfter"] == "2026-01-05T02:00:00.000Z");
    CHECK(f.applier->pending());

    f.clock.advance(119min);  // 01:59: not yet
    f.applier->tick();
    CHECK(f.applier->pending());
    CHECK(f.on_disk()["his"]["answer_timeout"] == "3s");
    CHECK(f.events.events.empty());

    f.clock.advance(1min);  // 02:00: the window opens
    f.applier->tick();
    CHECK_FALSE(f.applier->pending());
    CHECK(f.on_disk()["his"]["answer_timeout"] == "2s");
    REQUIRE(f.events.events.size() == 1);
    CHECK(f.events.events[0].first == "config.applied");
    CHECK(f.events.events[0].second["outcome"] == "applied");
    CHECK(f.events.events[0].second["version"] == 1);
    CHECK(f.checks_run == 1);

    // Inside the window a standard push is applied at the next tick.
    auto inside = f.applier->apply(config_apply_body(config_apply_params("4s"), 2, "standard"));
    CHECK(inside.value()["applyAfter"] == "2026-01-05T02:00:00.000Z");
    f.applier->tick();
    CHECK(f.on_disk()["his"]["answer_timeout"] == "4s");

    // Past the window: tomorrow's; a real-time push meanwhile supersedes the waiting one.
    f.clock.advance(3h);
    auto tomorrow = f.applier->apply(config_apply_body(config_apply_params("5s"), 3, "standard"));
    CHECK(tomorrow.value()["applyAfter"] == "2026-01-06T02:00:00.000Z");
    auto now = f.applier->apply(config_apply_body(config_apply_params("6s"), 4, "now"));
    CHECK(now.value()["outcome"] == "applied");
    CHECK_FALSE(f.applier->pending());
    CHECK(f.on_disk()["his"]["answer_timeout"] == "6s");
    f.clock.advance(24h);
    f.applier->tick();
    CHECK(f.on_disk()["his"]["answer_timeout"] == "6s");

    auto history = f.applier->history().value()["history"];
    std::vector<std::string> outcomes;
    for (const auto& row : history) outcomes.push_back(row["outcome"]);
    CHECK(outcomes == std::vector<std::string>{"applied", "superseded", "queued", "applied", "queued", "applied", "queued"});
    CHECK(f.applier->params_hash() == sha256_hex(config_apply_params("6s").dump()));
}

TEST_CASE("config apply: a failing path check puts the previous adapter and file back, a bad set touches nothing") {
    ConfigApplyFixture f;
    const auto before_adapter = f.live->current();
    const std::string before_hash = f.applier->params_hash();

    f.failing_checks = {"his.report: mllp.connect_failed"};
    auto reverted = f.applier->apply(config_apply_body(config_apply_params("2s"), 1, "now"));
    REQUIRE(reverted.ok());
    CHECK(reverted.value()["outcome"] == "reverted");
    CHECK(reverted.value()["failedChecks"] == json::array({"his.report: mllp.connect_failed"}));
    CHECK(f.live->current() == before_adapter);
    CHECK(f.on_disk()["his"]["answer_timeout"] == "3s");
    CHECK(f.applier->params_hash() == before_hash);

    f.failing_checks.clear();
    f.checks_run = 0;
    auto bad = config_apply_params("soon");
    CHECK(f.applier->apply(config_apply_body(bad, 2, "now")).value()["outcome"] == "refused");
    auto other = config_apply_params("2s");
    other["hospital"]["id"] = "H002";
    auto wrong = f.applier->apply(config_apply_body(other, 3, "now")).value();
    CHECK(wrong["outcome"] == "refused");
    CHECK_THAT(wrong["errors"].dump(), Catch::Contains("this agent serves H001"));
    auto mismatched = config_apply_body(config_apply_params("2s"), 4, "now");
    mismatched["hash"] = std::string(64, 'a');
    CHECK(f.applier->apply(mismatched).value()["outcome"] == "refused");
    json unknown_key = config_apply_params("2s");
    unknown_key["his"]["answer_timeuot"] = "2s";
    CHECK(f.applier->apply(config_apply_body(unknown_key, 5, "standard")).value()["outcome"] == "refused");
    CHECK_FALSE(f.applier->pending());
    CHECK(f.checks_run == 0);  // nothing was swapped
    CHECK(f.live->current() == before_adapter);
    CHECK(f.on_disk()["his"]["answer_timeout"] == "3s");

    // Malformed requests are errors, not outcomes.
    CHECK(f.applier->apply(json::array()).error().code == "config.invalid_request");
    CHECK(f.applier->apply({{"params", config_apply_params("2s")}, {"version", 0}, {"hash", ""}}).error().code ==
          "config.invalid_request");
    CHECK(f.applier->apply(config_apply_body(config_apply_params("2s"), 6, "later")).error().code == "config.invalid_request");

    // The history keeps the newest kConfigHistoryKeep outcomes.
    for (int v = 10; v < 40; ++v) (void)f.applier->apply(config_apply_body(config_apply_params("2s"), v, "now"));
    auto history = f.applier->history().value()["history"];
    CHECK(history.size() == agent::kConfigHistoryKeep);
    CHECK(history[0]["version"] == 39);
}

TEST_CASE("flags: deterministic buckets, percentages only add hospitals, selectors and version gates") {
    // The same hospital lands in the same bucket; buckets spread over 0..99.
    CHECK(params::flag_bucket("new-ui", "H001") == params::flag_bucket("new-ui", "H001"));
    std::set<int> buckets;
    for (int i = 0; i < 1000; ++i) buckets.insert(params::flag_bucket("new-ui", "H" + std::to_string(i)));
    CHECK(buckets.size() > 90);

    auto flag_at = [](int percent) {
        return params::FeatureFlag::from_json({{"name", "new-ui"}, {"percent", percent}}).value();
    };
    int at10 = 0, at50 = 0;
    for (int i = 0; i < 1000; ++i) {
        params::FlagTarget t{"H" + std::to_string(i), "south", "hl7v2-mllp", "0.3.0"};
        bool on10 = flag_at(10).on_for(t), on50 = flag_at(50).on_for(t);
        CHECK((!on10 || on50));  // raising the percentage keeps every hospital it had
        at10 += on10;
        at50 += on50;
    }
    CHECK(at10 > 50);
    CHECK(at10 < 150);
    CHECK(at50 > 400);
    CHECK(at50 < 600);

    auto set = params::FlagSet::from_json(json::parse(R"({"flags": [
        {"name": "south-only", "selector": {"region": "south"}, "percent": 100},
        {"name": "needs-1.2", "percent": 100, "minVersion": "1.2.0"},
        {"name": "pilot", "hospitals": ["H007"], "minVersion": "0.3.0"}]})"));
    REQUIRE(set.ok());
    params::FlagTarget south_old{"H007", "south", "hl7v2-mllp", "0.3.0"};
    params::FlagTarget north_new{"H008", "north", "rest-json", "1.2.0"};
    params::FlagTarget unknown_version{"H007", "south", "hl7v2-mllp", ""};
    CHECK(set->enabled_for(south_old) == std::vector<std::string>{"pilot", "south-only"});
    CHECK(set->enabled_for(north_new) == std::vector<std::string>{"needs-1.2"});
    CHECK(set->enabled_for(unknown_version) == std::vector<std::string>{"south-only"});
    CHECK_FALSE(set->enabled("no-such-flag", south_old));

    CHECK(params::FlagSet::from_json(json::parse(R"({"flags": [{"name": "a"}, {"name": "a"}]})")).error().code ==
          "flags.invalid");
    CHECK(params::FlagSet::from_json(json::parse(R"({"flags": [{"name": "a", "extra": 1}]})")).error().code ==
          "flags.invalid");
}
