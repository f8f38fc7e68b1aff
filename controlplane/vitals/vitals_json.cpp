#include "controlplane/vitals/vitals_json.h"

namespace hisgate::controlplane::vitals {

nlohmann::json alarm_json(const AlarmRecord& a) {
    nlohmann::json j = {{"id", a.id}, {"hospitalId", a.hospital_id}, {"device", a.device}, {"bed", a.bed},
                        {"code", a.code}, {"text", a.text}, {"priority", priority_name(a.priority)},
                        {"technical", a.technical}, {"observedAt", a.observed_ms}, {"raisedAt", a.raised_ms},
                        {"state", a.state}, {"escalation", a.escalation}};
    if (a.state == "silenced") j["silencedUntil"] = a.silenced_until_ms;
    if (a.state == "acknowledged") j["acknowledged"] = {{"by", a.acknowledged_by}, {"at", a.acknowledged_ms}};
    return j;
}

nlohmann::json monitor_json(const MonitorView& m) {
    nlohmann::json j = {{"device", m.report.device}, {"model", m.report.model}, {"ward", m.report.ward},
                        {"bed", m.report.bed}, {"interface", m.report.interface}, {"agentState", m.report.state},
                        {"online", m.online}};
    j["lastSampleAt"] = m.last_sample_ms ? nlohmann::json(m.last_sample_ms) : nlohmann::json();
    if (!m.online) j["reason"] = m.reason;
    return j;
}

nlohmann::json latest_json(const LatestValue& v) {
    return {{"name", v.name}, {"unit", v.unit}, {"value", v.value}, {"observedAt", v.observed_ms}, {"device", v.device}};
}

nlohmann::json sample_json(const VitalSample& s) {
    return {{"name", s.name}, {"unit", s.unit}, {"value", s.value}, {"observedAt", s.observed_ms}, {"device", s.device}};
}

}  // namespace hisgate::controlplane::vitals
