// Canonical answers and their comparison: what counts as the same answer, and how a
// difference is named (field paths only, never values).
#include <catch2/catch.hpp>

#include "agent/probes/answer_comparison.h"
#include "agent/probes/probe_operations.h"

using namespace hisgate;
using namespace hisgate::agent::probes;
using nlohmann::json;

namespace {
Report blood_count() {
    Report r;
    r.report_id = "R-1";
    r.patient_id = "P-1";
    r.title = "Complete blood count";
    r.status = "final";
    r.issued_at = "2026-11-20T08:30:00+08:00";
    r.observations = {{"718-7", "Hemoglobin", "13.5", "g/dL", "12.0-16.0", "N"},
                      {"777-3", "Platelets", "250", "10*3/uL", "150-400", ""}};
    return r;
}
}  // namespace

TEST_CASE("probe answers: a report's canonical form keys observations by code and drops empty fields") {
    auto j = canonical_report(blood_count());
    CHECK(j["title"] == "Complete blood count");
    CHECK(j["observations"]["718-7"]["value"] == "13.5");
    CHECK(j["observations"]["777-3"].contains("units"));
    CHECK_FALSE(j["observations"]["777-3"].contains("flag"));
    CHECK(fingerprint(j) == fingerprint(canonical_report(blood_count())));
    CHECK(fingerprint(j).size() == 64);
}

TEST_CASE("probe answers: observation order does not change the fingerprint, a value does") {
    auto a = blood_count();
    auto b = blood_count();
    std::swap(b.observations[0], b.observations[1]);
    CHECK(fingerprint(canonical_report(a)) == fingerprint(canonical_report(b)));
    b.observations[0].value = "260";
    CHECK(fingerprint(canonical_report(a)) != fingerprint(canonical_report(b)));
}

TEST_CASE("probe answers: a difference names fields that appeared, disappeared and changed") {
    auto before = blood_count();
    auto after = blood_count();
    after.title = "";                      // the HIS moved the title elsewhere: we now read nothing
    after.observations[0].value = "14.1";  // a value changed
    after.observations.push_back({"6690-2", "Leukocytes", "11.2", "10*3/uL", "4.0-10.0", "H"});
    auto d = compare(canonical_report(before), canonical_report(after));
    CHECK(d.disappeared == std::vector<std::string>{"/title"});
    CHECK(d.changed == std::vector<std::string>{"/observations/718-7/value"});
    CHECK(d.appeared == std::vector<std::string>{"/observations/6690-2/flag", "/observations/6690-2/name",
                                                 "/observations/6690-2/reference_range", "/observations/6690-2/units",
                                                 "/observations/6690-2/value"});
    // Field names only: no value of either answer is in what goes to logs and upstream.
    auto text = d.to_json().dump();
    CHECK(text.find("14.1") == std::string::npos);
    CHECK(text.find("13.5") == std::string::npos);
    CHECK(text.find("Complete blood count") == std::string::npos);
    CHECK(compare(canonical_report(before), canonical_report(before)).empty());
}

TEST_CASE("probe answers: a schedule keeps the doctor and slot shapes, not dates or booked counts") {
    ReferenceData week;
    week.doctors = {{"DR-1", "D-INT", "Dr. Wang", "Chief physician"}, {"DR-2", "D-INT", "Dr. Liu", "Attending"}};
    week.slots = {{"S1", "DR-1", "D-INT", "2026-11-20", "08:00", "08:15", "", 1, 0, 2000},
                  {"S2", "DR-1", "D-INT", "2026-11-21", "08:00", "08:15", "", 1, 1, 2000},
                  {"S3", "DR-2", "D-INT", "2026-11-20", "", "", "AM", 20, 5, 1500}};
    auto j = canonical_schedule(week, "DR-1");
    REQUIRE(j);
    CHECK((*j)["doctor"]["title"] == "Chief physician");
    CHECK((*j)["slot_shapes"].size() == 1);
    CHECK((*j)["slot_shapes"]["08:00-08:15"]["capacity"] == json::array({1}));

    // A day later, with other bookings: the same answer.
    auto next = week;
    for (auto& s : next.slots) {
        s.date = "2026-11-2" + std::to_string(s.date.back() - '0' + 1);
        s.booked = 0;
    }
    CHECK(fingerprint(*canonical_schedule(next, "DR-1")) == fingerprint(*j));
    next.slots[0].fee_cents = 2500;
    CHECK(compare(*j, *canonical_schedule(next, "DR-1")).appeared ==
          std::vector<std::string>{"/slot_shapes/08:00-08:15/fee_cents/1"});
    CHECK_FALSE(canonical_schedule(week, "DR-9"));
}

TEST_CASE("probe answers: report lists are keyed by report id, payments keep status and amount") {
    auto list = canonical_report_list({{"R-2", "Panel", "final", "2026-11-19"}, {"R-1", "CBC", "final", "2026-11-20"}});
    CHECK(list["reports"]["R-1"]["title"] == "CBC");
    auto longer = canonical_report_list({{"R-1", "CBC", "final", "2026-11-20"}, {"R-2", "Panel", "final", "2026-11-19"},
                                         {"R-3", "Lipids", "preliminary", "2026-11-21"}});
    CHECK(compare(list, longer).appeared ==
          std::vector<std::string>{"/reports/R-3/issued_at", "/reports/R-3/status", "/reports/R-3/title"});
    auto paid = canonical_payment({"T-1", 1500, "paid"});
    auto refunded = canonical_payment({"T-1", 1500, "refunded"});
    CHECK(compare(paid, refunded).changed == std::vector<std::string>{"/status"});
}
