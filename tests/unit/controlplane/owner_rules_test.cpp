// Triage owner rules (controlplane/triage/owner_rules.h): the file is read strictly, every
// problem named with where it is and what was expected; the first matching rule wins.
#include <catch2/catch.hpp>

#include "controlplane/triage/default_rules.h"
#include "controlplane/triage/owner_rules.h"

using namespace hisgate;
using namespace hisgate::controlplane::triage;

namespace {
const char* kTeams = R"("teams": {"hospital-it": "HIS hosts", "platform-ops": "broker", "platform-dev": "our bugs",
                                  "integration": "parameter files", "his-vendor": "vendor codes"})";

std::string file(const std::string& rules, const std::string& extra = "") {
    return std::string("{") + kTeams + R"(, "default_owner": "platform-dev", )" + extra + R"("rules": )" + rules + "}";
}

OwnerRules parsed(const std::string& text) {
    auto r = OwnerRules::parse(text, "rules.json");
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return std::move(r.value());
}

Error refused(const std::string& text) {
    auto r = OwnerRules::parse(text, "rules.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().cls == ErrorClass::Config);
    CHECK(r.error().code == "triage.rules_invalid");
    return r.error();
}

ErrorRecord rec(ErrorClass cls, const std::string& code, ErrorTags tags = {}) { return {cls, code, tags, Source::Answer, ""}; }

// A neighbourhood the test sets.
struct Around final : Neighbourhood {
    std::vector<std::string> codes;
    Spread spread;
    std::vector<std::string> codes_at(const std::string&) override { return codes; }
    std::string version_asked = "-";
    Spread spread_of(const std::string&, const std::string&, const std::string& version) override {
        version_asked = version;
        return spread;
    }
};
}  // namespace

TEST_CASE("triage rules: a rules file with an unknown field is refused, naming where and what is known") {
    auto top = refused(file("[]", R"("colour": "red", )"));
    CHECK_THAT(top.message, Catch::Contains("rules.json: colour: unknown field"));
    CHECK_THAT(top.message, Catch::Contains("teams, default_owner, window_seconds, rules"));
    auto in_rule = refused(file(R"([{"name": "a", "owner": "hospital-it", "when": {"code": "x"}, "onwer": "y"}])"));
    CHECK_THAT(in_rule.message, Catch::Contains("rules[0].onwer: unknown field"));
    auto in_when = refused(file(R"([{"name": "a", "owner": "hospital-it", "when": {"cod": "x"}}])"));
    CHECK_THAT(in_when.message, Catch::Contains("rules[0].when.cod: unknown field"));
    auto in_spread = refused(file(R"([{"name": "a", "owner": "hospital-it", "when": {"spread": {"hosts": 2}}}])"));
    CHECK_THAT(in_spread.message, Catch::Contains("rules[0].when.spread.hosts: unknown field"));
}

TEST_CASE("triage rules: a class that is not one is refused with the classes there are") {
    auto e = refused(file(R"([{"name": "a", "owner": "hospital-it", "when": {"class": ["timeout", "unavailble"]}}])"));
    CHECK_THAT(e.message, Catch::Contains("rules[0].when.class: expected one of bad_input, not_found, config, unavailable, "
                                          "timeout, protocol, rejected, internal, found \"unavailble\""));
}

TEST_CASE("triage rules: a value of the wrong type is refused with what was expected and found") {
    auto code = refused(file(R"([{"name": "a", "owner": "hospital-it", "when": {"code": 42}}])"));
    CHECK_THAT(code.message, Catch::Contains("rules[0].when.code: expected a string or an array of 1 to 1000 strings, found number 42"));
    auto rules = refused(file(R"({"a": 1})"));
    CHECK_THAT(rules.message, Catch::Contains("rules: expected an array of at most 10000 rules, found an object"));
    auto book = refused(file(R"([{"name": "a", "owner": "hospital-it", "book": "no", "when": {"code": "x"}}])"));
    CHECK_THAT(book.message, Catch::Contains("rules[0].book: expected true or false, found string \"no\""));
    auto window = refused(file("[]", R"("window_seconds": "15m", )"));
    CHECK_THAT(window.message, Catch::Contains("window_seconds: expected an integer from 1 to 604800"));
    auto not_object = refused("[1, 2]");
    CHECK_THAT(not_object.message, Catch::Contains("(top level): expected an object"));
    auto not_json = OwnerRules::parse("{\"teams\": ", "rules.json");
    REQUIRE_FALSE(not_json.ok());
    CHECK(not_json.error().code == "triage.rules_invalid");
}

TEST_CASE("triage rules: owners must be teams of the file, patterns well formed, names unique, all problems at once") {
    auto e = refused(file(R"([{"name": "a", "owner": "hospital_it", "when": {"code": "his.*x"}},
                              {"name": "a", "owner": "platform-ops", "when": {"code": "mqtt.*"}},
                              {"owner": "platform-ops"}])"));
    CHECK_THAT(e.message, Catch::Contains("rules[0].owner: expected a team named in \"teams\", found \"hospital_it\""));
    CHECK_THAT(e.message, Catch::Contains("rules[0].when.code: expected an exact value or a prefix ending in a single '*', found \"his.*x\""));
    CHECK_THAT(e.message, Catch::Contains("rules[1].name: expected a name no other rule has"));
    CHECK_THAT(e.message, Catch::Contains("rules[2].name: expected a string (this field is required)"));
    CHECK_THAT(e.message, Catch::Contains("rules[2].when: expected an object (this field is required)"));
    auto no_default = refused(std::string("{") + kTeams + R"(, "rules": []})");
    CHECK_THAT(no_default.message, Catch::Contains("default_owner: expected a team named in \"teams\" (required)"));
    auto bad_default = refused(std::string("{") + kTeams + R"(, "default_owner": "nobody", "rules": []})");
    CHECK_THAT(bad_default.message, Catch::Contains("default_owner: expected a team named in \"teams\", found \"nobody\""));
}

TEST_CASE("triage rules: the first match wins, by class, code prefix and tags, else the default owner") {
    auto rules = parsed(file(R"([
        {"name": "south-hl7-down", "owner": "hospital-it",
         "when": {"class": "unavailable", "code": "mllp.*", "region": "south", "dialect": "hl7v2"}},
        {"name": "vendor", "owner": "his-vendor", "when": {"class": "rejected", "code": "his.*"}},
        {"name": "broker", "owner": "platform-ops", "when": {"code": ["mqtt.disconnected", "mqtt.publish_failed"]}},
        {"name": "old-agent", "owner": "integration", "when": {"version": "0.2.*", "path": "appointment.book", "hospital": ["H1", "H2"]}},
        {"name": "any-rejection", "owner": "platform-ops", "when": {"class": "rejected"}}])"));
    ErrorTags south{"H1", "hl7v2", "report.get", "0.3.0", "south"};
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mllp.connect_failed", south)).owner == "hospital-it");
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mllp.connect_failed", south)).rule == "south-hl7-down");
    ErrorTags north = south;
    north.region = "north";
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mllp.connect_failed", north)).rule == "default");
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mllp.connect_failed", north)).owner == "platform-dev");
    CHECK(rules.route(rec(ErrorClass::Timeout, "mllp.connect_failed", south)).rule == "default");
    // Two rules match: the first wins.
    CHECK(rules.route(rec(ErrorClass::Rejected, "his.E501", south)).owner == "his-vendor");
    CHECK(rules.route(rec(ErrorClass::Rejected, "rest.http_409", south)).owner == "platform-ops");
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mqtt.publish_failed")).owner == "platform-ops");
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mqtt.publish")).rule == "default");
    ErrorTags old{"H2", "rest-json", "appointment.book", "0.2.7", ""};
    CHECK(rules.route(rec(ErrorClass::Protocol, "his.unreadable_answer", old)).owner == "integration");
    old.hospital = "H3";
    CHECK(rules.route(rec(ErrorClass::Protocol, "his.unreadable_answer", old)).rule == "default");
}

TEST_CASE("triage rules: 'with' and 'spread' look at what the book saw around the error") {
    auto rules = parsed(file(R"([
        {"name": "not-booked", "book": false, "when": {"code": "his.SLOT_TAKEN"}},
        {"name": "outage", "owner": "platform-ops", "when": {"code": "hospital.offline", "spread": {"hospitals": 3}}},
        {"name": "regression", "owner": "platform-dev", "when": {"code": "his.unreadable_answer", "spread": {"hospitals": 2, "dialects": 2, "same_version": true}}},
        {"name": "redeploy", "owner": "hospital-it", "when": {"code": "rest.http_404", "with": ["rest.connect_failed", "rest.http_5*"]}},
        {"name": "offline", "owner": "hospital-it", "when": {"code": "hospital.offline"}}])"));
    CHECK(rules.looks_around());
    Around around;
    auto offline = rec(ErrorClass::Unavailable, "hospital.offline", {"H1", "", "appointment.book", "", ""});
    CHECK(rules.route(offline).rule == "offline");  // nothing to look at: no spread
    around.spread = {2, 1, 1};
    CHECK(rules.route(offline, &around).rule == "offline");
    around.spread = {3, 1, 1};
    CHECK(rules.route(offline, &around).owner == "platform-ops");
    around.spread = {5, 1, 1};
    CHECK(rules.route(rec(ErrorClass::Protocol, "his.unreadable_answer", {"H1"}), &around).rule == "default");
    around.spread = {5, 2, 1};
    auto regression = rec(ErrorClass::Protocol, "his.unreadable_answer", {"H1", "rest-json", "report.get", "0.2.8"});
    CHECK(rules.route(regression, &around).owner == "platform-dev");
    CHECK(around.version_asked == "0.2.8");  // the rule counts only hospitals of this version
    CHECK(rules.route(offline, &around).owner == "platform-ops");
    CHECK(around.version_asked.empty());
    auto not_found = rec(ErrorClass::Unavailable, "rest.http_404", {"H1"});
    around.codes = {"rest.http_404", "his.E900"};
    CHECK(rules.route(not_found, &around).rule == "default");
    around.codes = {"rest.http_404", "rest.http_503"};
    CHECK(rules.route(not_found, &around).owner == "hospital-it");
    auto refusal = rules.route(rec(ErrorClass::Rejected, "his.SLOT_TAKEN"), &around);
    CHECK_FALSE(refusal.book);
    CHECK(refusal.owner.empty());
}

TEST_CASE("triage rules: the built-in rules file reads, and routes the codes the components emit") {
    auto rules = parsed(std::string(default_rules_json()));
    CHECK(rules.default_owner() == "platform-dev");
    CHECK(rules.teams().count("agent-team"));
    ErrorTags t{"H1", "rest-json", "report.get", "0.3.0", ""};
    CHECK(rules.route(rec(ErrorClass::Unavailable, "rest.connect_failed", t)).owner == "hospital-it");
    CHECK(rules.route(rec(ErrorClass::Unavailable, "mqtt.publish_failed", t)).owner == "platform-ops");
    CHECK(rules.route(rec(ErrorClass::Internal, "agent.attempts_exhausted", t)).owner == "agent-team");
    CHECK(rules.route(rec(ErrorClass::Internal, "results.lost", t)).owner == "platform-dev");
    CHECK(rules.route(rec(ErrorClass::Protocol, "his.mismatched_answer", t)).owner == "integration");
    CHECK(rules.route(rec(ErrorClass::BadInput, "his.unknown_sex", t)).owner == "integration");
    CHECK(rules.route(rec(ErrorClass::Rejected, "his.E501", t)).owner == "his-vendor");
    CHECK_FALSE(rules.route(rec(ErrorClass::Rejected, "his.SLOT_TAKEN", t)).book);
}
