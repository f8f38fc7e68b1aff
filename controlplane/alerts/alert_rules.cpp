#include "controlplane/alerts/alert_rules.h"

#include <cctype>
#include <cstdio>
#include <sstream>

#include "common/utc_time.h"

namespace hisgate::controlplane::alerts {

std::string seconds_text(double s) {
    std::ostringstream out;
    out.precision(1);
    out << std::fixed << s << " s";
    return out.str();
}

namespace {
double number_or(const nlohmann::json& j, const char* name, double fallback) {
    auto it = j.find(name);
    return (it != j.end() && it->is_number()) ? it->get<double>() : fallback;
}
}  // namespace

int64_t parse_iso_utc_ms(const std::string& text) {
    // YYYY-MM-DDTHH:MM:SS[.fff...]Z
    if (text.size() < 20 || text.size() > 40 || text.back() != 'Z') return -1;
    for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u})
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
    if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return -1;
    if (text.size() > 20) {
        if (text[19] != '.') return -1;
        for (size_t i = 20; i + 1 < text.size(); ++i)
            if (!std::isdigit(static_cast<unsigned char>(text[i]))) return -1;
    }
    auto num = [&](size_t at, size_t n) { return std::stoi(text.substr(at, n)); };
    std::chrono::year_month_day ymd{std::chrono::year{num(0, 4)}, std::chrono::month{static_cast<unsigned>(num(5, 2))},
                                    std::chrono::day{static_cast<unsigned>(num(8, 2))}};
    int h = num(11, 2), m = num(14, 2), s = num(17, 2);
    if (!ymd.ok() || h > 23 || m > 59 || s > 60) return -1;
    auto days = std::chrono::sys_days{ymd}.time_since_epoch();
    return std::chrono::duration_cast<std::chrono::milliseconds>(days).count() +
           ((h * 60LL + m) * 60LL + s) * 1000LL;
}

std::vector<Condition> conditions_of(const FleetRecord& r, const ProtocolWindow& window, int64_t now_ms,
                                     const AlertThresholds& t) {
    std::vector<Condition> out;
    auto add = [&](const char* rule, std::string subject, std::string detail) {
        out.push_back({rule, r.hospital_id, std::move(subject), std::move(detail)});
    };
    if (!r.online) {
        if (now_ms - r.since_ms > t.offline.count())
            add(rule::kOffline, "",
                "offline since " +
                    iso_utc_ms(r.since_ms) +
                    " (threshold " + seconds_text(static_cast<double>(t.offline.count()) / 1000.0) + ")");
    } else {
        if (!r.compatible(window))
            add(rule::kIncompatible, "",
                "protocol [" + std::to_string(r.protocol_min) + "," + std::to_string(r.protocol_max) +
                    "] outside the window " + window.describe() + ", version " + r.version);
        if (auto q = r.body.find("queue"); q != r.body.end() && q->is_object()) {
            double oldest = number_or(*q, "oldestSeconds", 0), p99 = number_or(*q, "dwellP99Seconds", 0);
            if (oldest > t.dwell_seconds || p99 > t.dwell_seconds)
                add(rule::kDwell, "",
                    "oldest task " + seconds_text(oldest) + ", dwell p99 " + seconds_text(p99) + " (threshold " +
                        seconds_text(t.dwell_seconds) + ")");
        }
        if (auto p = r.body.find("probes"); p != r.body.end() && p->is_object()) {
            for (const auto& [path, last] : p->items()) {
                if (!last.is_object() || path.size() > 64) continue;
                auto o = last.find("outcome");
                if (o == last.end() || !o->is_string()) continue;
                std::string outcome = o->get<std::string>();
                if (outcome == "failed" || outcome == "changed") add(rule::kPathFailed, path, "last probe " + outcome);
            }
        }
    }
    // The certificate runs out whether the agent is online or not.
    if (auto c = r.body.find("certNotAfter"); c != r.body.end() && c->is_string()) {
        int64_t not_after = parse_iso_utc_ms(c->get<std::string>());
        if (not_after >= 0 && not_after - now_ms < t.cert_within.count())
            add(rule::kCertExpiring, "",
                not_after <= now_ms ? "certificate expired " + c->get<std::string>()
                                    : "certificate expires " + c->get<std::string>());
    }
    return out;
}

std::vector<Condition> gap_conditions(const std::vector<SequenceGap>& gaps, int64_t now_ms, const AlertThresholds& t) {
    std::vector<Condition> out;
    for (const auto& g : gaps)
        if (g.highest > g.contiguous && now_ms - g.since_ms > t.gap.count())
            out.push_back({rule::kSeqGap, g.hospital_id, "",
                           "change sets after seq " + std::to_string(g.contiguous) + " missing (seq " +
                               std::to_string(g.highest) + " arrived)"});
    return out;
}

std::vector<Condition> dwell_conditions(const std::vector<DwellVerdict>& verdicts,
                                        const std::function<bool(const std::string&)>& online) {
    std::vector<Condition> out;
    for (const auto& v : verdicts)
        if (v.exceeded && online(v.hospital_id)) out.push_back({rule::kDwell, v.hospital_id, "", v.detail});
    return out;
}

}  // namespace hisgate::controlplane::alerts
