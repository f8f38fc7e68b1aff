// hl7/report_values.h: the one reading of a report's status and times, shared by the agent's
// adapters and the control plane's FHIR mapping.
#include <catch2/catch.hpp>

#include "hl7/report_values.h"

using hisgate::hl7::iso_timestamp;
using hisgate::hl7::report_status;

TEST_CASE("report values: result-status letters and words read as FHIR DiagnosticReport.status") {
    CHECK(report_status("F") == "final");
    CHECK(report_status("f") == "final");
    CHECK(report_status("P") == "preliminary");
    CHECK(report_status("R") == "preliminary");
    CHECK(report_status("C") == "corrected");
    CHECK(report_status("A") == "partial");
    CHECK(report_status("M") == "amended");
    CHECK(report_status("X") == "cancelled");
    CHECK(report_status("I") == "registered");
    // A REST or SOAP hospital that writes words already.
    CHECK(report_status("Final") == "final");
    CHECK(report_status("canceled") == "cancelled");
    CHECK(report_status("pending") == "registered");
    // Not a status: nothing, and the caller decides (the agent passes it on, FHIR says unknown).
    for (const char* bad : {"", "Z", "FF", " F", "F ", "finished", "最终"}) {
        INFO(bad);
        CHECK_FALSE(report_status(bad));
    }
}

TEST_CASE("report values: an HL7 DTM reads as ISO 8601 at its own precision") {
    CHECK(iso_timestamp("2026") == "2026");
    CHECK(iso_timestamp("202611") == "2026-11");
    CHECK(iso_timestamp("20261120") == "2026-11-20");
    CHECK(iso_timestamp("2026112008") == "2026-11-20T08:00");
    CHECK(iso_timestamp("202611200830") == "2026-11-20T08:30");
    CHECK(iso_timestamp("20261120083015") == "2026-11-20T08:30:15");
    CHECK(iso_timestamp("20261120083015.1234") == "2026-11-20T08:30:15.1234");
    CHECK(iso_timestamp("20261120083015.5+0800") == "2026-11-20T08:30:15.5+08:00");
    CHECK(iso_timestamp("202611200830-0530") == "2026-11-20T08:30-05:30");
    CHECK(iso_timestamp("20261120+0800") == "2026-11-20");  // an offset says nothing on a bare date
}

TEST_CASE("report values: what is not a DTM reads as nothing") {
    for (const char* bad : {"", "yesterday", "202",  "20261",  "2026112008301",  "202611200830151",
                            "2026-11-20T08:30:00",  // ISO already: not a DTM
                            "20261120 0830", "2026112008.5",       // a fraction wants whole seconds
                            "20261120083015.12345",               // at most four fraction digits
                            "20261120083015.", "20261120083015.1a", "202611200830+08", "202611200830+08:00",
                            "202611200830+0800x", "+0800", "２０２６１１２０"}) {
        INFO(bad);
        CHECK_FALSE(iso_timestamp(bad));
    }
}
