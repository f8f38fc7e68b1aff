#include "monitor-sim/oru_builder.h"

#include <cstdio>
#include <ctime>

#include "common/check.h"
#include "hl7/message.h"

namespace hisgate::monitor_sim {

const char* to_string(Interface i) { return i == Interface::Realtime ? "realtime" : "unsolicited"; }

namespace {

std::string hl7_time(std::chrono::system_clock::time_point at, bool milliseconds) {
    std::time_t t = std::chrono::system_clock::to_time_t(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
    if (milliseconds) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
        std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms < 0 ? ms + 1000 : ms));
    }
    return buf;
}

std::string unix_seconds(std::chrono::system_clock::time_point at) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count());
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// The simulated patient of a bed: invented, so the gateway's logs can be searched for it
// (it must never appear there).
std::string patient_name(int bed) { return "SIMPATIENT" + std::to_string(bed) + "^TEST"; }

void must(Result<void> r) { HISGATE_CHECK(r.ok(), "monitor-sim.build", r.ok() ? "" : r.error().describe()); }

hl7::Message header(const MonitorIdentity& who, int64_t control_id, std::chrono::system_clock::time_point at) {
    auto m = hl7::Message::create();
    bool rt = who.interface == Interface::Realtime;
    must(m.set_all({{"MSH-3", who.model}, {"MSH-4", who.device_id}}));
    must(m.set("MSH-7", hl7_time(at, who.stamps_milliseconds)));
    must(m.set_all({{"MSH-9-1", "ORU"}, {"MSH-9-2", "R01"}}));
    if (rt) must(m.set("MSH-9-3", "RT"));
    must(m.set("MSH-10", std::to_string(control_id)));
    must(m.set_all({{"MSH-11", "P"}, {"MSH-12", rt ? "2.3" : "2.3.1"}}));
    return m;
}

}  // namespace

std::string build_result(const MonitorIdentity& who, int64_t control_id, std::chrono::system_clock::time_point at,
                         const std::vector<Observation>& values, uint16_t port, const Spoil& spoil) {
    auto m = header(who, control_id, at);
    bool rt = who.interface == Interface::Realtime;
    std::string ts = rt ? unix_seconds(at) : hl7_time(at, who.stamps_milliseconds);
    if (!rt) {
        char guid[40];
        std::snprintf(guid, sizeof guid, "14140f00-7bbc-0478-%04d-2d02000000", who.bed_number % 10000);
        must(m.set("PID-3", guid));
        auto name = patient_name(who.bed_number);
        must(m.set_all({{"PID-5-1", name.substr(0, name.find('^'))}, {"PID-5-2", "TEST"}, {"PID-7", "19600101"}, {"PID-8", "M"}}));
        must(m.set("PV1-2", "I"));
        // The loopback address as an integer, as the monitors put their own address here.
        must(m.set_all({{"PV1-3-3-1", who.ward}, {"PV1-3-3-2", std::to_string(who.bed_number)},
                        {"PV1-3-3-3", "2130706433"}, {"PV1-3-3-4", std::to_string(port)}, {"PV1-3-3-6", "1"}}));
        must(m.set("OBR-4", who.model + " Monitor"));
    } else {
        must(m.set("OBR-2", who.bed));
        must(m.set("OBR-4", who.model + " RT"));
    }
    must(m.set("OBR-7", ts));
    std::size_t n = 0;
    auto obx = [&](const std::string& type, const std::string& code, const std::string& text, const std::string& value) {
        ++n;
        std::string s = "OBX[" + std::to_string(n) + "]-";
        must(m.set(s + "2", type));
        must(m.set(s + "3-1", code));
        if (!rt && !text.empty()) must(m.set(s + "3-2", text));
        // A coded value (CE) is "code^text": two components, not one escaped text.
        auto caret = value.find('^');
        if (type == "CE" && caret != std::string::npos)
            must(m.set_all({{s + "5-1", value.substr(0, caret)}, {s + "5-2", value.substr(caret + 1)}}));
        else
            must(m.set(s + "5", value));
        if (!rt) {
            must(m.set(s + "11", "F"));
            must(m.set(s + "14", ts));
        }
    };
    for (const auto& o : values)
        obx("NM", o.code, "", spoil.non_numeric && o.code == kHeartRate ? "abc" : number(o.value));
    if (spoil.unknown_code) obx("NM", "9999", "", "1.0");
    if (!rt) {
        obx("ST", "2301", "", "2");
        obx("CE", "2302", "Blood", "0^N");
        obx("ST", "2308", "BedNoStr", who.bed);
    }
    return m.serialize();
}

std::string build_alarm(const MonitorIdentity& who, int64_t control_id, std::chrono::system_clock::time_point at,
                        const Alarm& alarm) {
    auto m = header(who, control_id, at);
    bool rt = who.interface == Interface::Realtime;
    std::string ts = rt ? unix_seconds(at) : hl7_time(at, who.stamps_milliseconds);
    if (!rt) {
        must(m.set("PV1-2", "I"));
        must(m.set_all({{"PV1-3-3-1", who.ward}, {"PV1-3-3-2", std::to_string(who.bed_number)}}));
        must(m.set("OBR-4", who.model + " Alarm"));
    } else {
        must(m.set("OBR-2", who.bed));
        must(m.set("OBR-4", who.model + " RT Alarm"));
    }
    must(m.set("OBR-7", ts));
    must(m.set_all({{"OBX-2", "ST"}, {"OBX-3-1", alarm.code}, {"OBX-3-2", alarm.text},
                    {"OBX-3-3", alarm.technical ? "TEC" : "PHY"}, {"OBX-5", alarm.text}}));
    must(m.set("OBX-8", std::string(1, alarm.priority)));
    if (!rt) {
        must(m.set("OBX-11", "F"));
        must(m.set("OBX-14", ts));
        // The bed name too, so an alarm names its bed as a result does.
        must(m.set_all({{"OBX[2]-2", "ST"}, {"OBX[2]-3-1", "2308"}, {"OBX[2]-3-2", "BedNoStr"}, {"OBX[2]-5", who.bed},
                        {"OBX[2]-11", "F"}}));
    }
    return m.serialize();
}

Alarm physiological_alarm(int64_t n) {
    static const Alarm kAlarms[] = {{"1001", "HR High", 'H', false}, {"1002", "SpO2 Low", 'H', false},
                                    {"1003", "RR High", 'M', false}, {"1004", "NIBP Sys High", 'M', false},
                                    {"1005", "Temp High", 'L', false}};
    return kAlarms[n % 5];
}

Alarm technical_alarm(int64_t n) {
    static const Alarm kAlarms[] = {{"2001", "ECG Lead Off", 'M', true}, {"2002", "SpO2 Sensor Off", 'L', true}};
    return kAlarms[n % 2];
}

}  // namespace hisgate::monitor_sim
