// The catalog: the built-in fragments, the names adapters read, merging, and every rule a
// definition must follow.
#include <catch2/catch.hpp>

#include <set>

#include "common/pattern.h"
#include "config-params/catalog_diff.h"
#include "support.h"
#include "tests/support/process.h"

using namespace hisgate::params;
using hisgate::Pattern;
using nlohmann::json;
using params_test::builtin;

namespace {

const char* kCommon = R"("doc": "d", "since": "0.1.0", "readers": ["test"])";

std::string param(const std::string& name, const std::string& fields) {
    return R"({"name": ")" + name + "\", " + fields + ", " + kCommon + "}";
}

// The catalog's error for these fragments (the test fails if they are accepted).
std::string rejected(const std::vector<Fragment>& fragments) {
    auto c = Catalog::from_fragments(fragments);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == "params.catalog_invalid");
    return c.error().message;
}

std::string rejected(const std::string& definitions) {
    return rejected({{"test.json", "test", "{\"parameters\": [" + definitions + "]}"}});
}

}  // namespace

TEST_CASE("the built-in catalog has every parameter the agent and adapters read, by exactly these names") {
    std::set<std::string> names;
    for (const auto& d : builtin().all()) {
        if (d.area != "appointment") names.insert(d.name);  // the rules engineer's fragment
    }
    CHECK(names == std::set<std::string>{
        "hospital.id", "hospital.name", "hospital.timezone", "hospital.region", "hospital.city", "hospital.level",
        "his.dialect", "his.endpoint", "his.tls.enabled", "his.tls.ca_file", "his.connect_timeout",
        "his.answer_timeout", "his.max_attempts", "his.charset", "his.timezone", "his.id_formats.patient_id",
        "his.id_formats.report_id", "his.code_tables.sex", "his.code_tables.payment_method", "his.code_tables.lab_loinc", "his.error_map",
        "his.concurrency", "his.rate_per_minute", "his.deferred_drain_interval", "his.idempotent_orders", "his.processing_horizon",
        "his.hl7.version", "his.hl7.encoding_characters", "his.hl7.segment_terminator", "his.hl7.sending_application",
        "his.hl7.sending_facility", "his.hl7.receiving_application", "his.hl7.receiving_facility",
        "his.hl7.query_style", "his.hl7.fields", "his.hl7.z_segments", "his.hl7.ack_mode", "his.hl7.sessions",
        "his.rest.base_path", "his.rest.auth_header", "his.rest.token_file", "his.rest.field_map",
        "his.soap.namespace", "his.soap.action_prefix", "his.soap.field_map",
        "probes",
        "queue.max_attempts", "queue.retry_backoff_min", "queue.retry_backoff_max", "queue.retention",
        "queue.dwell_alert", "presence.heartbeat_interval",
        "extraction.interval", "extraction.days_ahead", "extraction.history_keep", "extraction.push.listen", "extraction.push.allowed_peers",
        "extraction.push.tls.cert_file", "extraction.push.tls.key_file", "extraction.push.tls.client_ca_file",
        "extraction.hl7.fields",
        "vitals.enabled", "vitals.ward_networks", "vitals.discovery.bind", "vitals.discovery.port", "vitals.interfaces",
        "vitals.default_interface", "vitals.codes", "vitals.stale_after", "vitals.lost_after", "vitals.reconnect_backoff_min",
        "vitals.reconnect_backoff_max", "vitals.max_frame_bytes", "vitals.future_tolerance", "vitals.buffer_max_samples",
        "vitals.batch_max", "vitals.retention", "config.quiet_window.from", "config.quiet_window.until"});
    const ParamDef* timeout = builtin().find("his.answer_timeout");
    REQUIRE(timeout);
    CHECK(timeout->type == ParamType::Duration);
    CHECK(*timeout->default_value == "3s");
    CHECK(timeout->area == "his");
    CHECK(builtin().find("his.hl7.version")->area == "hl7");
    CHECK(builtin().find("his.hl7") == nullptr);
    CHECK(builtin().is_group("his.hl7"));
    CHECK_FALSE(builtin().is_group("his.hl7.version"));
    CHECK_FALSE(builtin().is_group("his.h"));
    CHECK(builtin().children("his.tls") == std::vector<std::string>{"ca_file", "enabled"});
}

TEST_CASE("the catalog directory in the source tree is the built-in catalog") {
    auto dir = Catalog::load(std::string(HISGATE_SOURCE_DIR) + "/config-params/catalog");
    INFO((dir.ok() ? "" : dir.error().message));
    REQUIRE(dir.ok());
    CHECK(dir->to_json() == builtin().to_json());
}

TEST_CASE("a merged catalog file reads back as the same catalog, areas included") {
    std::string path = hisgate::test::make_temp_dir("params-catalog") + "/merged.json";
    hisgate::test::write_file(path, builtin().to_json().dump(2));
    auto merged = Catalog::load(path);
    INFO((merged.ok() ? "" : merged.error().message));
    REQUIRE(merged.ok());
    CHECK(merged->to_json() == builtin().to_json());
    CHECK(diff(builtin(), *merged).empty());
    CHECK(merged->find("his.hl7.version")->area == "hl7");

    auto missing = Catalog::load("/nonexistent/catalog");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "params.unreadable");
}

TEST_CASE("a name defined twice, even in two fragments, is an error naming both") {
    std::string a = "{\"parameters\": [" + param("x.a", R"("type": "bool", "default": true)") + "]}";
    std::string b = "{\"parameters\": [" + param("x.a", R"("type": "int", "default": 1)") + "]}";
    CHECK(rejected({{"a.json", "a", a}, {"b.json", "b", b}}) ==
          "b.json: x.a: expected a name defined once in the whole catalog, found a second definition (the first is in a.json)");
}

TEST_CASE("a parameter cannot also be a group of parameters") {
    CHECK(rejected(param("x.tls", R"("type": "bool", "default": true)") + "," +
                   param("x.tls.enabled", R"("type": "bool", "default": true)")) ==
          "catalog: x.tls.enabled: expected a name outside the parameter x.tls (a parameter cannot also be a group), "
          "found a parameter below it in test.json");
}

TEST_CASE("definitions: the default must be a valid value of the type") {
    CHECK(rejected(param("x.t", R"("type": "duration", "default": "3x")")) ==
          "test.json: x.t.default: expected a duration (a whole number and ms, s, m or h, e.g. \"30s\"), found string \"3x\"");
    CHECK(rejected(param("x.n", R"("type": "int", "default": 0, "min": 1, "max": 10)")) ==
          "test.json: x.n.default: expected an integer from 1 to 10, found number 0");
    CHECK(rejected(param("x.e", R"("type": "enum", "values": ["a", "b"], "default": "c")")) ==
          "test.json: x.e.default: expected one of \"a\", \"b\", found string \"c\"");
    CHECK(rejected(param("x.c", R"("type": "code_table", "values": ["a"], "default": {"k": "z"})")) ==
          "test.json: x.c.default[\"k\"]: expected one of \"a\", found string \"z\"");
}

TEST_CASE("definitions: exactly one of default and required") {
    CHECK(rejected(param("x.a", R"("type": "bool")")) ==
          "test.json: x.a.default: expected exactly one of \"default\" and \"required\": true, found neither");
    CHECK(rejected(param("x.a", R"("type": "bool", "default": true, "required": true)")) ==
          "test.json: x.a.default: expected exactly one of \"default\" and \"required\": true, found both");
    CHECK(rejected(param("x.a", R"("type": "bool", "default": true, "required": false)")) ==
          "test.json: x.a.required: expected true (or no \"required\" field and a default), found boolean false");
}

TEST_CASE("definitions: every problem reported at once, unknown fields included") {
    std::string message = rejected(R"({"name": "x.a", "type": "enum", "default": "a", "colour": "red", "unit": "s",
                                       "min": "1s", "pattern": "(", "doc": "two\nlines", "since": "next",
                                       "readers": [], "meaning_version": 0})");
    CHECK(message == "test.json: x.a.colour: expected a definition field (name, type, default, doc, ...), found unknown field \"colour\"\n"
                     "test.json: x.a.doc: expected a non-empty one-line string, found string \"two\\nlines\"\n"
                     "test.json: x.a.since: expected a release number like 0.2.0, found string \"next\"\n"
                     "test.json: x.a.readers: expected a non-empty array of distinct non-empty strings, found an array\n"
                     "test.json: x.a.values: expected the allowed values of the enum, found nothing\n"
                     "test.json: x.a.min: expected no range (only int, duration and time_of_day have one), found string \"1s\"\n"
                     "test.json: x.a.unit: expected no unit (only int has one), found string \"s\"\n"
                     "test.json: x.a.pattern: expected no pattern (only string and coding_map have one), found string \"(\"\n"
                     "test.json: x.a.pattern: expected a regular expression RE2 accepts, found \"(\" (" +
                         Pattern::compile("(").error().message + ")\n"
                     "test.json: x.a.meaning_version: expected a positive integer, found number 0");
}

TEST_CASE("definitions: names, types, items and ranges") {
    CHECK(rejected(param("X.a", R"("type": "bool", "default": true)")) ==
          "test.json: parameters[0].name: expected a dotted name of lowercase words (e.g. his.hl7.version), found string \"X.a\"");
    CHECK(rejected(param("x.a", R"("type": "float", "default": 1.5)")) ==
          "test.json: x.a.type: expected one of string, int, bool, enum, duration, time_of_day, regex, endpoint, "
          "code_table, coding_map, list, object, found string \"float\"");
    CHECK(rejected(param("x.a", R"("type": "list", "default": [])")) ==
          "test.json: x.a.items: expected the element type of the list, found nothing");
    CHECK(rejected(param("x.a", R"("type": "list", "items": "list", "default": [])")) ==
          "test.json: x.a.items: expected the element type (any type but list), found string \"list\"");
    CHECK(rejected(param("x.a", R"("type": "duration", "default": "1s", "min": "2s", "max": "1s")")) ==
          "test.json: x.a.max: expected a bound not below min \"2s\", found string \"1s\"");
    CHECK(rejected(param("x.a", R"("type": "int", "default": 1, "max": "10")")) ==
          "test.json: x.a.max: expected an integer, found string \"10\"");
    CHECK(rejected("5") == "test.json: parameters[0]: expected a parameter definition object, found number 5");
    CHECK(rejected({{"t.json", "t", R"({"parameters": {}})"}}) ==
          "t.json: (top level): expected {\"parameters\": [...]} and nothing else, found an object");
    CHECK(rejected({{"t.json", "t", "{\"parameters\": [\n  {\"name\": }\n]}"}}).rfind(
              "t.json: line 2, column 12: expected valid JSON, found syntax error", 0) == 0);
}

TEST_CASE("definitions: required_when names a catalog parameter and a value it accepts") {
    std::string dialect = param("x.dialect", R"("type": "enum", "values": ["a", "b"], "default": "a")");
    params_test::catalog(dialect + "," + param("x.ns", R"("type": "string", "default": "", "required_when": {"x.dialect": "b"})"));
    CHECK(rejected(dialect + "," + param("x.ns", R"("type": "string", "default": "", "required_when": {"x.dialekt": "b"})")) ==
          "catalog: x.ns.required_when.x.dialekt: expected the name of a catalog parameter, found string \"b\" in test.json");
    CHECK(rejected(dialect + "," + param("x.ns", R"("type": "string", "default": "", "required_when": {"x.dialect": "c"})")) ==
          "catalog: x.ns.required_when.x.dialect: expected one of \"a\", \"b\", found string \"c\" in test.json");
    CHECK(rejected(param("x.ns", R"("type": "string", "required": true, "required_when": {"x.ns": "b"})")) ==
          "test.json: x.ns.required_when: expected no condition on a parameter that is always required, found an object");
}

TEST_CASE("every built-in parameter is documented and has readers") {
    for (const auto& d : builtin().all()) {
        INFO(d.name);
        CHECK_FALSE(d.doc.empty());
        CHECK_FALSE(d.readers.empty());
        CHECK_FALSE(d.since.empty());
    }
}
