// `hisgate params ...` through the real binary: exit codes, output, and the committed
// docs/params.md being what the catalog generates now.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace {

using Run = hisgate::test::Captured;  // status, and standard output and error together

const std::string& temp_dir() {
    static const std::string dir = hisgate::test::make_temp_dir("params-cli");
    return dir;
}

Run hisgate_params(std::vector<std::string> args) {
    args.insert(args.begin(), {hisgate::test::binary("cli/hisgate"), "params"});
    return hisgate::test::run_capture(std::move(args));
}

std::string source(const std::string& relative) { return std::string(HISGATE_SOURCE_DIR) + "/" + relative; }

std::string write(const std::string& name, const std::string& text) {
    std::string path = temp_dir() + "/" + name;
    hisgate::test::write_file(path, text);
    return path;
}

const char* kOne = R"({"parameters": [
  {"name": "x.n", "type": "int", "default": 2, "min": 1, "max": 10, "doc": "d", "since": "0.1.0", "readers": ["t"]}]})";

}  // namespace

TEST_CASE("hisgate params validate: ok with the count, or one line per problem and exit 1") {
    Run ok = hisgate_params({"validate", source("config-params/examples/north-rest-json.json")});
    CHECK(ok.status == 0);
    CHECK(ok.output == "ok: 15 parameters set\n");

    std::string bad = write("bad.json", R"({"hospital": {"id": "H1", "region": "west"}, "his": {"dialect": "rest-json"}})");
    Run r = hisgate_params({"validate", bad});
    CHECK(r.status == 1);
    CHECK(r.output == bad + ": hospital.region: expected one of \"south\", \"north\", found string \"west\"\n" +
                          bad + ": his.endpoint: expected a value (this parameter is required), found nothing\n");

    Run missing = hisgate_params({"validate", "/nonexistent/h.json"});
    CHECK(missing.status == 1);
    CHECK(missing.output == "/nonexistent/h.json: cannot read the file\n");
}

TEST_CASE("hisgate params: bad arguments exit 2 with the usage") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"validate"}, {"validate", "a", "b"}, {"list", "--yaml"}, {"diff", "a"}, {"docs", "a", "b"}, {"frobnicate"}}) {
        Run r = hisgate_params(args);
        CHECK(r.status == 2);
        CHECK(r.output.rfind("usage: hisgate params validate FILE", 0) == 0);
    }
}

TEST_CASE("hisgate params list prints a table, and --json the merged catalog") {
    Run table = hisgate_params({"list"});
    CHECK(table.status == 0);
    CHECK(table.output.rfind("name ", 0) == 0);
    CHECK(table.output.find("\nhis.answer_timeout ") != std::string::npos);
    auto probes = table.output.find("\nprobes ");
    REQUIRE(probes != std::string::npos);
    std::string probes_row = table.output.substr(probes + 1, table.output.find('\n', probes + 1) - probes - 1);
    CHECK(probes_row.find(" list of object ") != std::string::npos);
    CHECK(probes_row.find(" [] ") != std::string::npos);
    CHECK(table.output.find("\"3s\"") != std::string::npos);
    CHECK(table.output.find("How long to wait for the HIS to answer one message.") != std::string::npos);

    Run merged = hisgate_params({"list", "--json"});
    CHECK(merged.status == 0);
    auto doc = nlohmann::json::parse(merged.output);
    CHECK(doc.at("parameters").size() > 30);
    // The output is a catalog `diff` accepts: against the source tree it is unchanged.
    std::string saved = write("release.json", merged.output);
    Run same = hisgate_params({"diff", saved, source("config-params/catalog")});
    CHECK(same.status == 0);
    CHECK(same.output.empty());
}

TEST_CASE("hisgate params diff: exit 1 only for breaking changes, 2 for unreadable catalogs") {
    std::string old_release = write("old.json", kOne);
    std::string widened = write("widened.json", R"({"parameters": [
      {"name": "x.n", "type": "int", "default": 3, "min": 1, "max": 20, "doc": "d", "since": "0.1.0", "readers": ["t"]},
      {"name": "x.m", "type": "bool", "default": true, "doc": "d", "since": "0.2.0", "readers": ["t"]}]})");
    Run fine = hisgate_params({"diff", old_release, widened});
    CHECK(fine.status == 0);
    CHECK(fine.output == "added x.m: bool, default true\ndefault x.n: 2 -> 3\nrange x.n: 1..10 -> 1..20\n");

    Run back = hisgate_params({"diff", widened, old_release});
    CHECK(back.status == 1);
    CHECK(back.output == "removed x.m: bool, default true (breaking)\ndefault x.n: 3 -> 2\nrange x.n: 1..20 -> 1..10 (breaking)\n");

    Run broken = hisgate_params({"diff", old_release, write("broken.json", "{\"parameters\": [")});
    CHECK(broken.status == 2);
    CHECK(broken.output.find("broken.json: line 1, column 17: expected valid JSON") != std::string::npos);
}

TEST_CASE("the committed docs/params.md is what hisgate params docs generates now") {
    std::string out = temp_dir() + "/params.md";
    Run r = hisgate_params({"docs", out});
    REQUIRE(r.status == 0);
    std::string generated = hisgate::test::read_file(out);
    std::string committed = hisgate::test::read_file(source("docs/params.md"));
    INFO("docs/params.md is stale: run `hisgate params docs` at the top of the tree and commit it");
    CHECK(committed == generated);
    // Every parameter and every field kind is in it.
    for (const char* text : {"### `his.answer_timeout`", "| default | `\"3s\"` |", "| min | `\"100ms\"` |",
                             "| required | yes |", "| mapped values |", "| required when | `his.dialect` is `\"soap-xml\"` |",
                             "| type | `list of object` |", "| unit | attempts |", "| read by |", "| since | 0.2.0 |",
                             "| meaning version | 1 |", "## hl7", "## hospital"}) {
        INFO(text);
        CHECK(generated.find(text) != std::string::npos);
    }
}
