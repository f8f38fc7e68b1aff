// The simulated fault mix of bench/triage (docs/benchmarks.md, "Triage accuracy"): its
// codes are the ones the code base emits, a bounded slice runs and routes well enough,
// and a seed replays exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <set>

#include "bench/triage/fault_mix.h"
#include "controlplane/triage/default_rules.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::triage_sim;

namespace {
std::string without_spaces(std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }), s.end());
    return s;
}

bool found_in(const std::string& file, const std::string& evidence) {
    std::string text = test::read_file(std::string(HISGATE_SOURCE_DIR) + "/" + file);
    return !text.empty() && without_spaces(text).find(without_spaces(evidence)) != std::string::npos;
}

controlplane::triage::OwnerRules builtin_owner_rules() {
    auto rules = controlplane::triage::OwnerRules::parse(std::string(controlplane::triage::default_rules_json()), "built-in");
    REQUIRE(rules.ok());
    return std::move(rules.value());
}
}  // namespace

TEST_CASE("triage accuracy: every code the fault mix emits is emitted, with its class, by the code base") {
    std::set<std::string> codes;
    for (const auto& c : emitted_codes()) {
        INFO(c.code << " in " << c.file << ": " << c.evidence);
        CHECK(codes.insert(c.code).second);
        CHECK(found_in(c.file, c.evidence));
        // The class the table gives is the one the evidence names, when it names one.
        std::string ev = c.evidence;
        if (ev.find("ErrorClass::") != std::string::npos && ev.find("make_error(") != std::string::npos)
            CHECK(ev.find("ErrorClass::" + std::string(c.cls == ErrorClass::BadInput      ? "BadInput"
                                                       : c.cls == ErrorClass::Unavailable ? "Unavailable"
                                                       : c.cls == ErrorClass::Timeout     ? "Timeout"
                                                       : c.cls == ErrorClass::Protocol    ? "Protocol"
                                                       : c.cls == ErrorClass::Rejected    ? "Rejected"
                                                       : c.cls == ErrorClass::Config      ? "Config"
                                                       : c.cls == ErrorClass::Internal    ? "Internal"
                                                                                          : "NotFound")) != std::string::npos);
        if (*c.file2) {
            INFO("and in " << c.file2 << ": " << c.evidence2);
            CHECK(found_in(c.file2, c.evidence2));
        }
    }
    // And the mix uses them all (no stale entry), each with its table's class.
    auto mix = generate(3, 3000);
    std::set<std::string> used;
    for (const auto& r : mix.records) used.insert(r.record.code);
    CHECK(used == codes);
}

TEST_CASE("triage accuracy: a bounded slice of 500 incidents runs and routes at least 90% of errors to their true owner") {
    auto mix = generate(7, 500);
    REQUIRE(mix.incidents.size() == 500);
    auto report = run(mix, builtin_owner_rules());
    REQUIRE(report.ok());
    CHECK(report->overall.errors == static_cast<int64_t>(mix.records.size()));
    CHECK(report->overall.incidents == 500);
    for (auto kind : kKinds) {
        INFO(to_string(kind));
        CHECK(report->kinds[kind].incidents > 0);
    }
    double accuracy = static_cast<double>(report->overall.right) / static_cast<double>(report->overall.errors);
    INFO("accuracy " << accuracy);
    CHECK(accuracy >= 0.90);
}

TEST_CASE("triage accuracy: the same seed replays exactly, another seed differs") {
    auto a = generate(42, 200), b = generate(42, 200), c = generate(43, 200);
    REQUIRE(a.records.size() == b.records.size());
    for (size_t i = 0; i < a.records.size(); ++i) {
        CHECK(a.records[i].at_ms == b.records[i].at_ms);
        CHECK(a.records[i].record.code == b.records[i].record.code);
        CHECK(a.records[i].record.tags.hospital == b.records[i].record.tags.hospital);
        CHECK(a.records[i].record.trace_id == b.records[i].record.trace_id);
    }
    auto ra = run(a, builtin_owner_rules()), rb = run(b, builtin_owner_rules());
    REQUIRE(ra.ok());
    REQUIRE(rb.ok());
    CHECK(ra->overall.right == rb->overall.right);
    CHECK(ra->confusion == rb->confusion);
    bool differs = a.records.size() != c.records.size();
    for (size_t i = 0; !differs && i < a.records.size(); ++i) differs = a.records[i].record.code != c.records[i].record.code;
    CHECK(differs);
}

TEST_CASE("triage accuracy: rules that route everything to one team score that team's share only") {
    auto rules = controlplane::triage::OwnerRules::parse(
        R"({"teams": {"hospital-it": "x"}, "default_owner": "hospital-it", "rules": []})", "all-to-one");
    REQUIRE(rules.ok());
    auto mix = generate(7, 300);
    auto report = run(mix, *rules);
    REQUIRE(report.ok());
    CHECK(report->kinds[FaultKind::HisDown].right == report->kinds[FaultKind::HisDown].errors);
    CHECK(report->kinds[FaultKind::OurBug].right == 0);
    CHECK(report->confusion.count({"our_bug", "hospital-it"}));
}
