#include "agent/vitals/oru_parser.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "hl7/message.h"

namespace hisgate::vitals {

namespace {
Error drop_all(const std::string& reason, const std::string& what) {
    return make_error(ErrorClass::BadInput, "vitals." + reason, what);
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// A finite decimal number, as HL7 NM allows ("72", "-1.5", "+36.80"); nothing else.
std::optional<double> parse_number(const std::string& s) {
    if (s.empty() || s.size() > 32) return std::nullopt;
    std::size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    bool digits = false, dot = false;
    for (std::size_t k = i; k < s.size(); ++k) {
        if (s[k] >= '0' && s[k] <= '9') digits = true;
        else if (s[k] == '.' && !dot) dot = true;
        else return std::nullopt;
    }
    if (!digits) return std::nullopt;
    double v = std::strtod(s.c_str(), nullptr);
    if (!std::isfinite(v)) return std::nullopt;
    return v;
}
}  // namespace

std::optional<int64_t> parse_hl7_time(std::string_view ts) {
    auto cut = ts.find_first_of("+-");
    if (cut != std::string_view::npos) ts = ts.substr(0, cut);
    std::string_view fraction;
    if (auto dot = ts.find('.'); dot != std::string_view::npos) {
        fraction = ts.substr(dot + 1);
        ts = ts.substr(0, dot);
        if (!fraction.empty() && !all_digits(fraction)) return std::nullopt;
    }
    if (!all_digits(ts) || ts.size() < 8 || ts.size() > 14 || ts.size() % 2 != 0) return std::nullopt;
    auto num = [&](std::size_t at, std::size_t len) { return std::atoi(std::string(ts.substr(at, len)).c_str()); };
    int y = num(0, 4), mo = num(4, 2), d = num(6, 2);
    int h = ts.size() >= 10 ? num(8, 2) : 0, mi = ts.size() >= 12 ? num(10, 2) : 0, s = ts.size() >= 14 ? num(12, 2) : 0;
    using namespace std::chrono;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
    int64_t ms = duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count() +
                 ((h * 60 + mi) * 60 + s) * int64_t{1000};
    if (!fraction.empty()) {
        std::string f(fraction.substr(0, 3));
        while (f.size() < 3) f += '0';
        ms += std::atoi(f.c_str());
    }
    return ms;
}

Result<ParsedResult> parse_result(std::string_view payload, const ParseContext& ctx) {
    auto parsed = hl7::Message::parse(payload);
    if (!parsed) return drop_all("not_hl7", parsed.error().code);
    const auto& m = parsed.value();
    if (m.get("MSH-9-1") != "ORU" || m.get("MSH-9-2") != "R01") return drop_all("not_a_result", "MSH-9 is not ORU^R01");
    bool rt = ctx.interface == Interface::Realtime;
    ParsedResult out;
    out.control_id = m.get("MSH-10").substr(0, 64);

    // The message's own time, for observations that carry none.
    std::optional<int64_t> message_time;
    if (rt) {
        auto t = m.get("OBR-7");
        if (all_digits(t) && t.size() <= 12) message_time = std::atoll(t.c_str()) * 1000;
    } else {
        message_time = parse_hl7_time(m.get("OBR-7"));
        if (!message_time) message_time = parse_hl7_time(m.get("MSH-7"));
    }

    std::string bed;
    if (rt) bed = m.get("OBR-2");
    std::vector<std::size_t> obx;  // segment indexes
    for (std::size_t i = 0; i < m.segment_count(); ++i)
        if (m.segment(i).name() == "OBX") obx.push_back(i);
    if (!rt) {
        for (std::size_t n = 1; n <= obx.size(); ++n)
            if (m.get("OBX[" + std::to_string(n) + "]-3-1") == "2308") bed = m.get("OBX[" + std::to_string(n) + "]-5");
        if (bed.empty()) {
            auto ward = m.get("PV1-3-3-1"), number = m.get("PV1-3-3-2");
            if (!number.empty()) bed = ward.empty() ? number : ward + "-" + number;
        }
    }
    if (bed.empty()) bed = ctx.bed;
    if (bed.empty() || bed.size() > 64) return drop_all("no_bed", "the message names no bed");

    for (std::size_t n = 1; n <= obx.size(); ++n) {
        std::string s = "OBX[" + std::to_string(n) + "]-";
        std::string code = m.get(s + "3-1");
        std::string system = m.get(s + "3-3");
        std::optional<int64_t> at = message_time;
        if (!rt) {
            if (auto own = parse_hl7_time(m.get(s + "14"))) at = own;
        }
        int64_t observed = at.value_or(ctx.now_ms);
        auto dropped = [&](const char* reason) { ++out.drops[reason]; };
        if (observed > ctx.now_ms + ctx.future_tolerance_ms) {
            dropped("future_timestamp");
            continue;
        }
        VitalRecord r;
        r.device = ctx.device;
        r.bed = bed;
        r.observed_ms = observed;
        r.received_ms = ctx.now_ms;
        if (system == "PHY" || system == "TEC") {
            std::string priority = m.get(s + "8");
            if ((priority != "H" && priority != "M" && priority != "L") || code.empty() || code.size() > 32) {
                dropped("bad_alarm");
                continue;
            }
            r.kind = VitalRecord::Kind::Alarm;
            r.name = code;
            r.text = m.get(s + "5").substr(0, 128);
            r.priority = priority[0];
            r.technical = system == "TEC";
            out.records.push_back(std::move(r));
            continue;
        }
        auto meaning = ctx.codes->find(code);
        if (meaning == ctx.codes->end()) {
            dropped("unknown_code");
            continue;
        }
        if (meaning->second.info) continue;
        auto value = parse_number(m.get(s + "5"));
        if (!value) {
            dropped("non_numeric");
            continue;
        }
        r.kind = VitalRecord::Kind::Sample;
        r.name = meaning->second.name;
        r.unit = meaning->second.unit;
        r.value = *value;
        out.records.push_back(std::move(r));
    }
    return out;
}

}  // namespace hisgate::vitals
