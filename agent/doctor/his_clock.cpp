#include "agent/doctor/his_clock.h"

#include <Poco/DateTimeParser.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "adapters/hl7v2/hl7_dialect.h"
#include "adapters/http/his_http.h"
#include "adapters/registry.h"
#include "common/trace.h"
#include "hl7/message.h"
#include "mllp/client.h"

namespace hisgate::agent::doctor {

namespace {

using SysClock = std::chrono::system_clock;

SysClock::time_point midpoint(SysClock::time_point a, SysClock::time_point b) { return a + (b - a) / 2; }

Error clock_error(const std::string& what) { return make_error(ErrorClass::Protocol, "doctor.his_clock_unreadable", what); }

std::string his_zone_name(const params::ParamSet& p) {
    return p.string("his.timezone").empty() ? p.string("hospital.timezone") : p.string("his.timezone");
}

Result<ClockReading> hl7_clock(const params::ParamSet& p) {
    auto endpoint = host_and_port(p.string("his.endpoint"), "his.endpoint");
    if (!endpoint) return endpoint.error();
    auto dialect = hl7v2::dialect_from_params(p);
    if (!dialect) return dialect.error();
    auto zone = TimeZone::load(his_zone_name(p));
    if (!zone) return zone.error();
    // The same connection settings as the adapter (adapters/registry.cpp), one attempt.
    mllp::ClientOptions o;
    o.host = endpoint->first;
    o.port = endpoint->second;
    o.connect_timeout = p.duration("his.connect_timeout");
    o.ack_timeout = p.duration("his.answer_timeout");
    o.max_attempts = 1;
    o.tls = p.boolean("his.tls.enabled");
    o.ca_file = p.string("his.tls.ca_file");
    mllp::Client client(o);

    // A payment status query for an order nobody has: read-only, and every HIS answers it.
    auto q = dialect->message("QBP^ZPS^QBP_Q11", random_hex(10));
    if (!q) return q.error();
    if (auto r = q->set_all({{"QPD-1", "ZPS"}, {dialect->field("query.key"), "DOCTOR-" + random_hex(6)}}); !r) return r.error();
    auto sent = SysClock::now();
    auto answer = client.send(dialect->wire(q.value()));
    auto received = SysClock::now();
    if (!answer) return answer.error();
    auto parsed = hl7::Message::parse(answer.value(), dialect->parse_options());
    if (!parsed) return clock_error("the HIS's answer is not readable HL7: " + parsed.error().message);
    std::string msh7 = parsed->get("MSH-7");
    bool had_offset = false;
    auto his = parse_hl7_time(msh7, zone.value(), &had_offset);
    if (!his) return his.error();
    return ClockReading{*his, midpoint(sent, received),
                        "MSH-7 \"" + msh7 + "\" of its answer" + (had_offset ? "" : ", read in " + zone->name()), !had_offset};
}

Result<ClockReading> http_clock(const params::ParamSet& p) {
    std::string url = p.string("his.endpoint");
    // The adapters' own exchange and TLS settings; no authentication: any answer carries a Date.
    http::HttpOptions o;
    o.code_prefix = "doctor";
    o.connect_timeout = p.duration("his.connect_timeout");
    o.answer_timeout = p.duration("his.answer_timeout");
    o.ca_file = p.string("his.tls.ca_file");
    auto sent = SysClock::now();
    auto answer = http::http_exchange(o, {"GET", url, "", "", {}});
    auto received = SysClock::now();
    if (!answer)
        return make_error(answer.error().cls == ErrorClass::Timeout ? ErrorClass::Timeout : ErrorClass::Unavailable,
                          "doctor.his_unreachable", answer.error().message);
    std::string date = answer->header("Date");
    if (date.empty()) return clock_error("the answer to GET " + url + " has no Date header");
    Poco::DateTime his;
    int zone_offset = 0;
    if (!Poco::DateTimeParser::tryParse(date, his, zone_offset))
        return clock_error("the Date header \"" + date + "\" of the answer to GET " + url + " is not an HTTP date");
    his.makeUTC(zone_offset);
    return ClockReading{SysClock::from_time_t(his.timestamp().epochTime()), midpoint(sent, received),
                        "HTTP Date \"" + date + "\" of its answer", false};
}

std::string span_text(std::chrono::seconds s) {
    auto h = s.count() / 3600, m = (s.count() % 3600) / 60, sec = s.count() % 60;
    char buf[48];
    if (h > 0) std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", (long long)h, (long long)m, (long long)sec);
    else if (m > 0) std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)m, (long long)sec);
    else std::snprintf(buf, sizeof buf, "%llds", (long long)sec);
    return buf;
}

int digits(std::string_view s, size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
}

}  // namespace

Result<std::chrono::sys_seconds> parse_hl7_time(std::string_view ts, const TimeZone& zone, bool* had_offset) {
    auto bad = [&] { return clock_error("MSH-7 \"" + std::string(ts) + "\" is not an HL7 time (YYYYMMDDHHMM[SS][+/-ZZZZ])"); };
    size_t n = 0;
    while (n < ts.size() && std::isdigit(static_cast<unsigned char>(ts[n]))) ++n;
    if (n != 12 && n != 14) return bad();
    size_t end = n;
    if (end < ts.size() && ts[end] == '.') {
        ++end;
        while (end < ts.size() && std::isdigit(static_cast<unsigned char>(ts[end]))) ++end;
    }
    std::optional<std::chrono::minutes> offset;
    if (end < ts.size()) {
        if ((ts[end] != '+' && ts[end] != '-') || ts.size() != end + 5) return bad();
        for (size_t i = end + 1; i < ts.size(); ++i)
            if (!std::isdigit(static_cast<unsigned char>(ts[i]))) return bad();
        int minutes = digits(ts, end + 1, 2) * 60 + digits(ts, end + 3, 2);
        offset = std::chrono::minutes(ts[end] == '-' ? -minutes : minutes);
    }
    using namespace std::chrono;
    year_month_day date{year(digits(ts, 0, 4)), month(static_cast<unsigned>(digits(ts, 4, 2))),
                        day(static_cast<unsigned>(digits(ts, 6, 2)))};
    int hh = digits(ts, 8, 2), mm = digits(ts, 10, 2), ss = n == 14 ? digits(ts, 12, 2) : 0;
    if (!date.ok() || hh > 23 || mm > 59 || ss > 60) return bad();
    auto wall = local_days(date) + hours(hh) + minutes(mm) + seconds(ss);
    *had_offset = offset.has_value();
    if (offset) return sys_seconds(wall.time_since_epoch()) - *offset;
    return zone.to_utc(wall);
}

Result<ClockReading> read_his_clock(const params::ParamSet& p) {
    return p.string("his.dialect") == "hl7v2-mllp" ? hl7_clock(p) : http_clock(p);
}

Finding judge_clock(const Result<ClockReading>& reading) {
    const std::string check = "clock.his";
    if (!reading)
        return warn(check, "not checked: " + reading.error().describe(), "fix the his.* rows first, then run doctor again");
    // The HIS writes whole seconds: its clock was somewhere in [his, his + 1 s).
    auto skew = std::chrono::duration_cast<std::chrono::milliseconds>(reading->his + std::chrono::milliseconds(500) - reading->local);
    auto size = std::chrono::round<std::chrono::seconds>(skew < skew.zero() ? -skew : skew);
    std::string detail = "HIS clock " + (size.count() == 0 ? std::string("agrees with this server's")
                                                            : span_text(size) + (skew > skew.zero() ? " ahead of" : " behind") +
                                                                  " this server's") +
                         " (" + reading->source + ")";
    std::string fix = "synchronise both clocks by NTP (here: timedatectl set-ntp true; the HIS team for theirs)";
    // Whole half-hours off usually means the zone, not the clock.
    if (reading->zone_assumed && size >= std::chrono::minutes(29) && (size.count() + 60) % 1800 <= 120)
        fix += "; a difference of whole hours usually means his.timezone is not the zone the HIS writes its times in";
    if (size > kSkewFail) return fail(check, detail, fix);
    if (size > kSkewWarn) return warn(check, detail, fix);
    return ok(check, detail);
}

}  // namespace hisgate::agent::doctor
