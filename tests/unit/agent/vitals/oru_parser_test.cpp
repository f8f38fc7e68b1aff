#include <catch2/catch.hpp>

#include "agent/vitals/oru_parser.h"
#include "monitor-sim/oru_builder.h"

using namespace hisgate;
using namespace hisgate::vitals;

namespace {
const std::map<std::string, CodeMeaning> kCodes = {
    {"52", {false, "heart_rate", "/min"}}, {"51", {false, "spo2", "%"}},   {"151", {false, "resp_rate", "/min"}},
    {"170", {false, "nibp_sys", "mm[Hg]"}}, {"171", {false, "nibp_dia", "mm[Hg]"}}, {"172", {false, "nibp_mean", "mm[Hg]"}},
    {"200", {false, "temperature", "Cel"}}, {"2301", {true, "", ""}}, {"2302", {true, "", ""}}, {"2308", {true, "", ""}}};

// 2026-12-05 08:00:00 UTC.
constexpr int64_t kNowMs = 1796457600000;
const auto kNow = std::chrono::system_clock::time_point(std::chrono::milliseconds(kNowMs));

ParseContext context(Interface i) {
    ParseContext c;
    c.interface = i;
    c.codes = &kCodes;
    c.device = "MON-0001";
    c.bed = "BED-ANNOUNCED";
    c.now_ms = kNowMs;
    c.future_tolerance_ms = 60000;
    return c;
}

const std::vector<monitor_sim::Observation> kValues = {{"52", 72}, {"51", 98}, {"151", 16}, {"170", 120},
                                                       {"171", 80}, {"172", 93}, {"200", 36.8}};
monitor_sim::MonitorIdentity who(monitor_sim::Interface i) {
    return {"MON-0001", i == monitor_sim::Interface::Realtime ? "PM-50" : "PM-9000", "ICU", 1, "BED-001", i};
}
}  // namespace

TEST_CASE("vitals parser: the issue's sample ORU^R01 gives its two numeric samples, the status codes read and not stored") {
    std::string sample =
        "MSH|^~\\&|||||||ORU^R01|103|P|2.3.1|\r"
        "PID|||14140f00-7bbc-0478-11122d2d02000000||WEERASINGHE^KESHARA||19960714|M|\r"
        "PV1||I|^^ICU&1&3232237756&4601&&1|||||||||||||||A|||\r"
        "OBR||||Mindray Monitor|||0|\r"
        "OBX||NM|52^||189.0||||||F\r"
        "OBX||NM|51^||100.0||||||F\r"
        "OBX||ST|2301^||2||||||F\r"
        "OBX||CE|2302^Blood||0^N||||||F\r"
        "OBX||ST|2308^BedNoStr||BED-001||||||F\r";
    auto r = parse_result(sample, context(Interface::Unsolicited));
    REQUIRE(r.ok());
    CHECK(r->control_id == "103");
    REQUIRE(r->records.size() == 2);
    CHECK(r->records[0].name == "heart_rate");
    CHECK(r->records[0].value == 189.0);
    CHECK(r->records[0].unit == "/min");
    CHECK(r->records[0].bed == "BED-001");  // OBX 2308, not the announcement
    CHECK(r->records[1].name == "spo2");
    CHECK(r->records[1].value == 100.0);
    // OBR-7 "0" is no time: the agent's own.
    CHECK(r->records[0].observed_ms == kNowMs);
    CHECK(r->drops.empty());
    // No patient identity in what is kept.
    for (const auto& rec : r->records) {
        CHECK(rec.text.find("WEERASINGHE") == std::string::npos);
        CHECK(rec.bed.find("WEERASINGHE") == std::string::npos);
    }
}

TEST_CASE("vitals parser: both interfaces as the simulator sends them give the same samples with the device's time") {
    for (auto iface : {monitor_sim::Interface::Unsolicited, monitor_sim::Interface::Realtime}) {
        INFO(monitor_sim::to_string(iface));
        auto msg = monitor_sim::build_result(who(iface), 7, kNow - std::chrono::seconds(3), kValues, 4601);
        auto r = parse_result(msg, context(iface == monitor_sim::Interface::Realtime ? Interface::Realtime : Interface::Unsolicited));
        REQUIRE(r.ok());
        CHECK(r->control_id == "7");
        REQUIRE(r->records.size() == 7);
        CHECK(r->records[6].name == "temperature");
        CHECK(r->records[6].value == Approx(36.8));
        for (const auto& rec : r->records) {
            CHECK(rec.bed == "BED-001");
            CHECK(rec.observed_ms == kNowMs - 3000);
            CHECK(rec.kind == VitalRecord::Kind::Sample);
        }
    }
}

TEST_CASE("vitals parser: alarms keep their priority and whether they are technical") {
    for (auto iface : {monitor_sim::Interface::Unsolicited, monitor_sim::Interface::Realtime}) {
        auto ours = iface == monitor_sim::Interface::Realtime ? Interface::Realtime : Interface::Unsolicited;
        auto high = parse_result(monitor_sim::build_alarm(who(iface), 8, kNow, {"1001", "HR High", 'H', false}), context(ours));
        REQUIRE(high.ok());
        REQUIRE(high->records.size() == 1);
        CHECK(high->records[0].kind == VitalRecord::Kind::Alarm);
        CHECK(high->records[0].priority == 'H');
        CHECK_FALSE(high->records[0].technical);
        CHECK(high->records[0].name == "1001");
        CHECK(high->records[0].text == "HR High");
        auto lead_off = parse_result(monitor_sim::build_alarm(who(iface), 9, kNow, {"2001", "ECG Lead Off", 'L', true}), context(ours));
        REQUIRE(lead_off.ok());
        REQUIRE(lead_off->records.size() == 1);
        CHECK(lead_off->records[0].technical);
        CHECK(lead_off->records[0].priority == 'L');
    }
}

TEST_CASE("vitals parser: a monitor stamping milliseconds gives samples and alarms their millisecond time") {
    auto who_ms = who(monitor_sim::Interface::Unsolicited);
    who_ms.stamps_milliseconds = true;
    const auto at = kNow - std::chrono::milliseconds(2957);
    auto result = parse_result(monitor_sim::build_result(who_ms, 7, at, kValues, 4601), context(Interface::Unsolicited));
    REQUIRE(result.ok());
    REQUIRE(result->records.size() == 7);
    for (const auto& rec : result->records) CHECK(rec.observed_ms == kNowMs - 2957);
    auto alarm = parse_result(monitor_sim::build_alarm(who_ms, 8, at, {"1001", "HR High", 'H', false}), context(Interface::Unsolicited));
    REQUIRE(alarm.ok());
    REQUIRE(alarm->records.size() == 1);
    CHECK(alarm->records[0].observed_ms == kNowMs - 2957);
    // Whole seconds by default (the time truncated).
    auto whole = parse_result(monitor_sim::build_result(who(monitor_sim::Interface::Unsolicited), 9, at, kValues, 4601),
                              context(Interface::Unsolicited));
    REQUIRE(whole.ok());
    CHECK(whole->records[0].observed_ms == kNowMs - 3000);
}

TEST_CASE("vitals parser: bad observations are dropped one by one with their reason, bad messages whole") {
    auto unsolicited = who(monitor_sim::Interface::Unsolicited);
    SECTION("unknown code and non-numeric value") {
        auto msg = monitor_sim::build_result(unsolicited, 1, kNow, kValues, 4601, {.unknown_code = true, .non_numeric = true});
        auto r = parse_result(msg, context(Interface::Unsolicited));
        REQUIRE(r.ok());
        CHECK(r->records.size() == 6);  // heart rate "abc" dropped, 9999 dropped
        CHECK(r->drops.at("unknown_code") == 1);
        CHECK(r->drops.at("non_numeric") == 1);
    }
    SECTION("a timestamp from the future beyond the tolerance") {
        auto msg = monitor_sim::build_result(unsolicited, 1, kNow + std::chrono::minutes(5), kValues, 4601);
        auto r = parse_result(msg, context(Interface::Unsolicited));
        REQUIRE(r.ok());
        CHECK(r->records.empty());
        CHECK(r->drops.at("future_timestamp") == 10);  // every OBX, the status ones too
        auto within = monitor_sim::build_result(unsolicited, 2, kNow + std::chrono::seconds(30), kValues, 4601);
        CHECK(parse_result(within, context(Interface::Unsolicited))->records.size() == 7);
    }
    SECTION("not HL7, not a result, no bed") {
        CHECK(parse_result("THIS IS NOT HL7", context(Interface::Unsolicited)).error().code == "vitals.not_hl7");
        CHECK(parse_result("MSH|^~\\&|||||||ADT^A01|1|P|2.3.1\r", context(Interface::Unsolicited)).error().code ==
              "vitals.not_a_result");
        auto ctx = context(Interface::Realtime);
        ctx.bed = "";
        CHECK(parse_result("MSH|^~\\&|||||||ORU^R01^RT|1|P|2.3\rOBR||||x|||1\rOBX||NM|52||70\r", ctx).error().code ==
              "vitals.no_bed");
    }
    SECTION("numbers: only finite decimals") {
        for (const char* v : {"1e400", "nan", "inf", "0x10", "12abc", "", "1.2.3"}) {
            INFO(v);
            auto r = parse_result("MSH|^~\\&|||||||ORU^R01^RT|1|P|2.3\rOBR||BED-1||x|||1796457600\rOBX||NM|52||" + std::string(v) + "\r",
                                  context(Interface::Realtime));
            REQUIRE(r.ok());
            CHECK(r->records.empty());
        }
    }
}

TEST_CASE("vitals parser: HL7 times") {
    CHECK(parse_hl7_time("20261205080000") == kNowMs);
    CHECK(parse_hl7_time("20261205080000.25") == kNowMs + 250);
    CHECK(parse_hl7_time("20261205080000+0800") == kNowMs);
    CHECK(parse_hl7_time("20261205") == kNowMs - 8 * 3600 * 1000);
    CHECK_FALSE(parse_hl7_time("0"));
    CHECK_FALSE(parse_hl7_time("20261305080000"));
    CHECK_FALSE(parse_hl7_time("2026120508000"));
    CHECK_FALSE(parse_hl7_time("2026120508000x"));
}
