// Hospital parameter files against the built-in catalog: nesting, unknown keys, required
// parameters, defaults, every problem at once, invalid JSON, the hash, and the examples.
#include <catch2/catch.hpp>

#include <filesystem>

#include "config-params/param_set.h"
#include "support.h"
#include "tests/support/process.h"

using namespace hisgate::params;
using nlohmann::json;
using params_test::builtin;

namespace {

// The smallest valid file: the four always-required parameters.
json minimal() {
    return json::parse(R"({"hospital": {"id": "H001", "region": "south"},
                           "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:6661"}})");
}

// The problem lines of an invalid file (the test fails if it is valid).
std::vector<std::string> problems(const json& file) {
    auto set = ParamSet::validate(builtin(), file, "h.json");
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().cls == hisgate::ErrorClass::Config);
    CHECK(set.error().code == "params.invalid");
    std::vector<std::string> lines;
    std::stringstream in(set.error().message);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

ParamSet valid(const json& file) {
    auto set = ParamSet::validate(builtin(), file, "h.json");
    INFO((set.ok() ? "" : set.error().message));
    REQUIRE(set.ok());
    return *set;
}

std::string temp_file(const std::string& name, const std::string& text) {
    static const std::string dir = hisgate::test::make_temp_dir("params-test");
    std::string path = dir + "/" + name;
    hisgate::test::write_file(path, text);
    return path;
}

}  // namespace

TEST_CASE("a minimal file is valid and every default is applied") {
    ParamSet p = valid(minimal());
    CHECK(p.count_set() == 4);
    CHECK(p.string("hospital.id") == "H001");
    CHECK(p.string("hospital.region") == "south");
    CHECK(p.string("hospital.timezone") == "Asia/Shanghai");
    CHECK(p.string("his.endpoint") == "127.0.0.1:6661");
    CHECK(p.has("his.dialect"));
    CHECK_FALSE(p.has("his.answer_timeout"));
    CHECK(p.duration("his.answer_timeout") == std::chrono::seconds(3));
    CHECK(p.duration("his.connect_timeout") == std::chrono::seconds(2));
    CHECK(p.duration("his.deferred_drain_interval") == std::chrono::seconds(30));
    CHECK(p.integer("his.max_attempts") == 1);
    CHECK(p.integer("his.concurrency") == 4);
    CHECK(p.integer("his.rate_per_minute") == 600);
    CHECK_FALSE(p.boolean("his.tls.enabled"));
    CHECK(p.string("his.charset") == "UNICODE UTF-8");
    CHECK(p.string("his.timezone").empty());
    CHECK(p.string("his.id_formats.patient_id") == ".+");
    CHECK(p.code_table("his.code_tables.sex") ==
          std::map<std::string, std::string>{{"M", "male"}, {"F", "female"}, {"O", "other"}, {"U", "unknown"}});
    CHECK(p.code_table("his.error_map").empty());
    CHECK(p.string("his.hl7.version") == "2.4");
    CHECK(p.string("his.hl7.encoding_characters") == "^~\\&");
    CHECK(p.string("his.hl7.segment_terminator") == "CR");
    CHECK(p.string("his.hl7.sending_application") == "HISGATE");
    CHECK(p.string("his.hl7.receiving_application") == "HIS");
    CHECK(p.string("his.hl7.query_style") == "QRY");
    CHECK(p.string("his.hl7.ack_mode") == "original");
    CHECK(p.json("his.hl7.fields") == json::object());
    CHECK(p.json("his.hl7.z_segments") == json::array());
    CHECK(p.string("his.rest.base_path") == "/");
    CHECK(p.string("his.soap.namespace").empty());
    CHECK(p.json("probes") == json::array());
}

TEST_CASE("values given in the file replace the defaults") {
    json f = minimal();
    f["his"]["answer_timeout"] = "250ms";
    f["his"]["max_attempts"] = 3;
    f["his"]["tls"] = {{"enabled", true}};
    f["his"]["code_tables"] = {{"sex", {{"1", "male"}, {"2", "female"}}}};
    f["his"]["hl7"] = {{"version", "2.5.1"}, {"fields", {{"report_id", "OBR-2"}}}};
    ParamSet p = valid(f);
    CHECK(p.count_set() == 10);
    CHECK(p.duration("his.answer_timeout") == std::chrono::milliseconds(250));
    CHECK(p.integer("his.max_attempts") == 3);
    CHECK(p.boolean("his.tls.enabled"));
    CHECK(p.has("his.tls.enabled"));
    CHECK_FALSE(p.has("his.tls.ca_file"));
    // A code table given replaces the default one; it is not merged with it.
    CHECK(p.code_table("his.code_tables.sex") == std::map<std::string, std::string>{{"1", "male"}, {"2", "female"}});
    CHECK(p.string("his.hl7.version") == "2.5.1");
    CHECK(p.json("his.hl7.fields") == json{{"report_id", "OBR-2"}});
}

TEST_CASE("unknown keys are problems at every depth, with the likely key named") {
    json f = minimal();
    f["hsopital"] = {{"id", "x"}};
    f["hospital"]["nmae"] = "x";
    f["his"]["hl7"] = {{"verison", "2.5"}};
    f["his"]["tls"] = {{"enabeld", true}};
    f["his"]["id_formats"] = {{"visit_id", ".+"}};
    f["his"]["code_tables"] = {{"sexes", json::object()}};
    CHECK(problems(f) == std::vector<std::string>{
        "h.json: his.code_tables.sexes: expected a known key under his.code_tables (did you mean \"sex\"?), found unknown key \"sexes\"",
        "h.json: his.hl7.verison: expected a known key under his.hl7 (did you mean \"version\"?), found unknown key \"verison\"",
        "h.json: his.id_formats.visit_id: expected one of the keys under his.id_formats: patient_id, report_id, found unknown key \"visit_id\"",
        "h.json: his.tls.enabeld: expected a known key under his.tls (did you mean \"enabled\"?), found unknown key \"enabeld\"",
        "h.json: hospital.nmae: expected a known key under hospital (did you mean \"name\"?), found unknown key \"nmae\"",
        "h.json: hsopital: expected a known key at the top level (did you mean \"hospital\"?), found unknown key \"hsopital\"",
    });
}

TEST_CASE("object, code_table and list parameters are leaves: their insides are not catalog keys") {
    json f = minimal();
    f["his"]["hl7"] = {{"fields", {{"anything", {{"deep", 1}}}}}, {"z_segments", {"ZPI"}}};
    f["his"]["rest"] = {{"field_map", {{"x", "/y"}}}};
    f["probes"] = {{{"path", "report"}, {"request", {{"report_id", "R1"}}}, {"interval", "5m"}}};
    valid(f);
}

TEST_CASE("groups must be objects, dotted keys are refused, the top level is an object") {
    json f = minimal();
    f["his"]["hl7"] = "2.5";
    f["his"]["tls.enabled"] = true;
    CHECK(problems(f) == std::vector<std::string>{
        "h.json: his.hl7: expected an object holding the his.hl7.* parameters, found string \"2.5\"",
        "h.json: his.tls.enabled: expected a key without dots (nest the groups as objects), found the key \"tls.enabled\"",
    });
    CHECK(problems(json::array())[0] == "h.json: (top level): expected a JSON object, found an array");
}

TEST_CASE("required parameters must be given") {
    CHECK(problems(json::object()) == std::vector<std::string>{
        "h.json: his.dialect: expected a value (this parameter is required), found nothing",
        "h.json: his.endpoint: expected a value (this parameter is required), found nothing",
        "h.json: hospital.id: expected a value (this parameter is required), found nothing",
        "h.json: hospital.region: expected a value (this parameter is required), found nothing",
    });
}

TEST_CASE("required_when: the SOAP namespace is required only for soap-xml") {
    json f = minimal();
    f["his"]["dialect"] = "soap-xml";
    f["his"]["endpoint"] = "http://his.local:8080/ws";
    CHECK(problems(f) == std::vector<std::string>{
        "h.json: his.soap.namespace: expected a value (required when his.dialect is \"soap-xml\"), found nothing"});
    f["his"]["soap"] = {{"namespace", "urn:his:v1"}};
    CHECK(valid(f).string("his.soap.namespace") == "urn:his:v1");
    // Other dialects do not need it.
    valid(minimal());
}

TEST_CASE("code tables: values are checked, and the error map only maps to error classes") {
    json f = minimal();
    f["his"]["error_map"] = {{"E1", "not_found"}, {"E2", "fatal"}, {"E3", 42}};
    f["his"]["code_tables"] = {{"sex", {{"1", "male"}, {"2", "woman"}}}, {"payment_method", {{"01", "cash"}}}};
    const std::string classes = "\"bad_input\", \"not_found\", \"unavailable\", \"timeout\", \"protocol\", \"rejected\", \"internal\"";
    CHECK(problems(f) == std::vector<std::string>{
        "h.json: his.code_tables.sex[\"2\"]: expected one of \"male\", \"female\", \"other\", \"unknown\", found string \"woman\"",
        "h.json: his.error_map[\"E2\"]: expected one of " + classes + ", found string \"fatal\"",
        "h.json: his.error_map[\"E3\"]: expected one of " + classes + ", found number 42",
    });
    f["his"]["error_map"] = {{"E1", "not_found"}, {"E2", "unavailable"}, {"E3", "internal"}};
    f["his"]["code_tables"]["sex"]["2"] = "female";
    ParamSet p = valid(f);
    CHECK(p.code_table("his.error_map").at("E2") == "unavailable");
    CHECK(p.code_table("his.code_tables.payment_method") == std::map<std::string, std::string>{{"01", "cash"}});
}

TEST_CASE("the lab code map to LOINC is refused at load when an entry is malformed") {
    json f = minimal();
    f["his"]["code_tables"] = {{"lab_loinc", {{"GLU", {{"code", "2345-7"}, {"display", "Glucose"}}},
                                              {"HGB", {{"code", "hemoglobin"}, {"display", "Hemoglobin"}}}}}};
    CHECK(problems(f) == std::vector<std::string>{"h.json: his.code_tables.lab_loinc[\"HGB\"].code: expected a code "
                                                  "matching /^[0-9]{1,7}-[0-9]$/, found string \"hemoglobin\""});
    f["his"]["code_tables"]["lab_loinc"]["HGB"]["code"] = "718-7";
    CHECK(valid(f).json("his.code_tables.lab_loinc").size() == 2);
    CHECK(valid(minimal()).json("his.code_tables.lab_loinc") == json::object());
}

TEST_CASE("every problem of a file is reported at once, one line each") {
    json f = json::parse(R"({
        "hospital": {"id": "H 1", "region": "east", "timezone": "UTC+8"},
        "his": {"endpoint": "his:99999", "answer_timeout": "3 s", "max_attempts": 0, "concurrency": "4",
                "tls": {"enabled": "yes"}, "id_formats": {"patient_id": "(["},
                "hl7": {"version": "2.9", "encoding_characters": "abcd", "z_segments": ["PID"], "fields": []},
                "charset": "GBK", "deferred_drain_interval": "11m"},
        "probes": {}
    })");
    auto lines = problems(f);
    CHECK(lines.size() == 17);
    for (const auto& line : lines) {
        CHECK(line.rfind("h.json: ", 0) == 0);
        CHECK(line.find(": expected ") != std::string::npos);
        CHECK(line.find(", found ") != std::string::npos);
    }
    std::string all;
    for (const auto& line : lines) all += line + "\n";
    for (const char* path : {"hospital.id:", "hospital.region:", "hospital.timezone:", "his.endpoint:", "his.answer_timeout:",
                             "his.max_attempts:", "his.concurrency:", "his.tls.enabled:", "his.id_formats.patient_id:",
                             "his.hl7.version:", "his.hl7.encoding_characters:", "his.hl7.z_segments[0]:", "his.hl7.fields:",
                             "his.charset:", "his.deferred_drain_interval:", "probes:", "his.dialect:"}) {
        CHECK(all.find(std::string("h.json: ") + path) != std::string::npos);
    }
}

TEST_CASE("invalid JSON is reported with its line and column") {
    auto path = temp_file("bad.json", "{\n  \"hospital\": {\n    \"id\": \"H1\",\n  }\n}\n");
    auto set = ParamSet::load_file(builtin(), path);
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().code == "params.invalid");
    CHECK(set.error().message.rfind(path + ": line 4, column 3: expected valid JSON, found syntax error", 0) == 0);
    CHECK(set.error().message.find('\n') == std::string::npos);

    auto first = ParamSet::load_file(builtin(), temp_file("garbage.json", "hospital: H1"));
    REQUIRE_FALSE(first.ok());
    CHECK(first.error().message.rfind(temp_file("garbage.json", "hospital: H1") + ": line 1, column 1: expected valid JSON", 0) == 0);

    // Parameter files are UTF-8: a GB 18030 byte sequence is not valid JSON text.
    auto gb = ParamSet::load_file(builtin(), temp_file("gb.json", "{\"hospital\": {\"name\": \"\xB9\xE3\xD6\xDD\"}}"));
    REQUIRE_FALSE(gb.ok());
    CHECK(gb.error().message.find(": line 1, column 24: expected valid JSON") != std::string::npos);

    auto missing = ParamSet::load_file(builtin(), "/nonexistent/h.json");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "params.unreadable");
}

TEST_CASE("a parameter file is bounded: nesting, size, and each text value's length, checked before it is read") {
    std::string deep = "{\"hospital\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
    auto nested = ParamSet::load_file(builtin(), temp_file("deep.json", deep));
    REQUIRE_FALSE(nested.ok());
    CHECK(nested.error().message == temp_file("deep.json", deep) +
                                        ": (top level): expected arrays and objects nested at most 32 levels deep, "
                                        "found deeper nesting");
    auto file = minimal();
    file["his"]["id_formats"] = {{"patient_id", std::string(5000, 'P')}};
    auto lines = problems(file);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::StartsWith("h.json: his.id_formats.patient_id: expected a regular expression RE2 accepts"));
    CHECK_THAT(lines[0], Catch::EndsWith(" of at most 4096 bytes, found a string of 5000 bytes"));
}

TEST_CASE("a key given twice in one object is a problem, not a silent override") {
    auto path = temp_file("twice.json", R"({"hospital": {"id": "H1", "region": "south", "id": "H2"},
        "his": {"dialect": "rest-json", "endpoint": "his:1", "error_map": {"E1": "timeout", "E1": "rejected"}},
        "probes": [{"path": "a", "path": "b"}]})");
    auto set = ParamSet::load_file(builtin(), path);
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().message == path + ": hospital.id: expected each key once per object, found the key \"id\" a second time\n" +
                                     path + ": his.error_map.E1: expected each key once per object, found the key \"E1\" a second time\n" +
                                     path + ": probes[0].path: expected each key once per object, found the key \"path\" a second time");
}

TEST_CASE("the hash is the SHA-256 of the canonical JSON: key order and spacing do not matter") {
    auto a = ParamSet::load_file(builtin(), temp_file("a.json", R"({"his": {"endpoint": "h:1", "dialect": "rest-json"},
        "hospital": {"region": "north", "id": "H9"}})"));
    auto b = ParamSet::load_file(builtin(), temp_file("b.json",
        R"({"hospital":{"id":"H9","region":"north"},"his":{"dialect":"rest-json","endpoint":"h:1"}})"));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->hash() == b->hash());
    // sha256 of {"his":{"dialect":"rest-json","endpoint":"h:1"},"hospital":{"id":"H9","region":"north"}}
    CHECK(a->hash() == "bae725e577bd313d14650fb511f2e25f8e78a0aa6cffa2566732d23b829089e1");
    json changed = json::parse(R"({"hospital":{"id":"H9","region":"south"},"his":{"dialect":"rest-json","endpoint":"h:1"}})");
    CHECK(valid(changed).hash() != a->hash());
}

TEST_CASE("the example parameter files validate") {
    namespace fs = std::filesystem;
    size_t examples = 0;
    for (const auto& entry : fs::directory_iterator(fs::path(HISGATE_SOURCE_DIR) / "config-params" / "examples")) {
        INFO(entry.path());
        auto set = ParamSet::load_file(builtin(), entry.path().string());
        INFO((set.ok() ? "" : set.error().message));
        CHECK(set.ok());
        ++examples;
    }
    CHECK(examples >= 2);

    auto south = ParamSet::load_file(builtin(), std::string(HISGATE_SOURCE_DIR) + "/config-params/examples/south-hl7-gb18030.json");
    REQUIRE(south.ok());
    CHECK(south->string("hospital.region") == "south");
    CHECK(south->string("his.dialect") == "hl7v2-mllp");
    CHECK(south->string("his.charset") == "GB 18030-2000");
    CHECK(south->string("hospital.name") == "广州市第三人民医院");
    CHECK(south->code_table("his.code_tables.sex").at("2") == "female");

    auto rest = ParamSet::load_file(builtin(), std::string(HISGATE_SOURCE_DIR) + "/config-params/examples/north-rest-json.json");
    REQUIRE(rest.ok());
    CHECK(rest->string("his.dialect") == "rest-json");
    CHECK(rest->string("his.rest.auth_header") == "X-Api-Key");
    CHECK(rest->boolean("his.tls.enabled"));
}

TEST_CASE("accessors of other types: time_of_day from a catalog that has one") {
    Catalog c = params_test::catalog(R"(
        {"name": "clinic.opens", "type": "time_of_day", "default": "08:00", "doc": "d", "since": "0.1.0", "readers": ["t"]},
        {"name": "clinic.closes", "type": "time_of_day", "required": true, "doc": "d", "since": "0.1.0", "readers": ["t"]})");
    auto set = ParamSet::validate(c, json::parse(R"({"clinic": {"closes": "17:30"}})"), "c.json");
    REQUIRE(set.ok());
    CHECK(set->time_of_day("clinic.opens") == 480);
    CHECK(set->time_of_day("clinic.closes") == 1050);
}

TEST_CASE("the hospital record's parameters: a grade of the Chinese classification or none, and the history's bounds") {
    auto plain = valid(minimal());
    CHECK(plain.string("hospital.city") == "");
    CHECK(plain.string("hospital.level") == "");
    CHECK(plain.integer("extraction.history_keep") == 1000);
    auto f = minimal();
    f["hospital"]["city"] = "广州";
    f["hospital"]["level"] = "3A";
    f["extraction"] = {{"history_keep", 10}};
    auto set = valid(f);
    CHECK(set.string("hospital.city") == "广州");
    CHECK(set.string("hospital.level") == "3A");
    CHECK(set.integer("extraction.history_keep") == 10);
    for (const char* bad : {"4A", "3a", "三甲", "3A "}) {
        f["hospital"]["level"] = bad;
        auto lines = problems(f);
        REQUIRE(lines.size() >= 1);
        CHECK_THAT(lines.back(), Catch::Contains("hospital.level"));
    }
    f["hospital"]["level"] = "";
    for (int bad : {9, 1000001}) {
        f["extraction"]["history_keep"] = bad;
        auto lines = problems(f);
        REQUIRE(lines.size() >= 1);
        CHECK_THAT(lines.back(), Catch::Contains("extraction.history_keep"));
    }
}
