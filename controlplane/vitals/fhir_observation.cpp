#include "controlplane/vitals/fhir_observation.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include "common/utc_time.h"

namespace hisgate::controlplane::vitals {

namespace {
constexpr LoincSign kSigns[] = {
    {"heart_rate", "8867-4", "Heart rate", "heartrate"},
    {"spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "oxygensat"},
    {"resp_rate", "9279-1", "Respiratory rate", "resprate"},
    {"temperature", "8310-5", "Body temperature", "bodytemp"},
    {"nibp_sys", "8480-6", "Systolic blood pressure", ""},
    {"nibp_dia", "8462-4", "Diastolic blood pressure", ""},
    {"nibp_mean", "8478-0", "Mean blood pressure", ""},
};
constexpr LoincSign kPressurePanel = {"nibp", "85354-9", "Blood pressure panel with all children optional", "bp"};
constexpr const char* kVitalSignsProfile = "http://hl7.org/fhir/StructureDefinition/vitalsigns";

bool is_pressure(const std::string& name) { return name == "nibp_sys" || name == "nibp_dia" || name == "nibp_mean"; }

nlohmann::json code_of(const std::optional<LoincSign>& sign, const std::string& name) {
    if (!sign) return {{"text", name}};
    return {{"coding", {{{"system", "http://loinc.org"}, {"code", sign->code}, {"display", sign->display}}}},
            {"text", sign->display}};
}

nlohmann::json quantity(const VitalSample& s) {
    return {{"value", s.value}, {"unit", s.unit}, {"system", "http://unitsofmeasure.org"}, {"code", s.unit}};
}

nlohmann::json observation(const std::string& hospital_id, const std::string& bed, const VitalSample& s,
                           const std::string& id_name, const std::optional<LoincSign>& sign) {
    nlohmann::json o = {
        {"resourceType", "Observation"},
        {"id", hospital_id + "-" + bed + "-" + id_name + "-" + std::to_string(s.observed_ms)},
        {"status", "final"},
        {"code", code_of(sign, id_name)},
        {"subject", {{"identifier", {{"system", "urn:hisgate:bed:" + hospital_id}, {"value", bed}}},
                     {"display", hospital_id + " " + bed}}},
        {"effectiveDateTime", iso_utc_ms(s.observed_ms)},
        {"device", {{"display", s.device}}},
    };
    if (sign) {
        o["meta"] = {{"profile", {kVitalSignsProfile, std::string("http://hl7.org/fhir/StructureDefinition/") + sign->profile}}};
        o["category"] = {{{"coding",
                           {{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"},
                             {"code", "vital-signs"},
                             {"display", "Vital Signs"}}}},
                          {"text", "Vital Signs"}}};
    }
    return o;
}
}  // namespace

std::optional<LoincSign> loinc_of(const std::string& name) {
    for (const auto& s : kSigns)
        if (name == s.name) return s;
    return std::nullopt;
}

std::vector<nlohmann::json> observations_of(const std::string& hospital_id, const std::string& bed,
                                            const std::vector<VitalSample>& samples) {
    std::vector<VitalSample> sorted = samples;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const VitalSample& a, const VitalSample& b) { return a.observed_ms < b.observed_ms; });
    std::vector<nlohmann::json> out;
    // Pressures of one device at one time: one panel, placed where its first component was.
    std::map<std::tuple<int64_t, std::string>, std::size_t> panels;
    for (const auto& s : sorted) {
        if (!is_pressure(s.name)) {
            auto o = observation(hospital_id, bed, s, s.name, loinc_of(s.name));
            o["valueQuantity"] = quantity(s);
            out.push_back(std::move(o));
            continue;
        }
        auto key = std::make_tuple(s.observed_ms, s.device);
        auto it = panels.find(key);
        if (it == panels.end()) {
            auto panel = observation(hospital_id, bed, s, "nibp", kPressurePanel);
            panel["component"] = nlohmann::json::array();
            it = panels.emplace(key, out.size()).first;
            out.push_back(std::move(panel));
        }
        out[it->second]["component"].push_back(
            {{"code", code_of(loinc_of(s.name), s.name)}, {"valueQuantity", quantity(s)}});
    }
    return out;
}

nlohmann::json searchset(const std::vector<nlohmann::json>& resources) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& r : resources) entries.push_back({{"fullUrl", "urn:hisgate:Observation/" + r["id"].get<std::string>()}, {"resource", r}});
    return {{"resourceType", "Bundle"}, {"type", "searchset"}, {"total", resources.size()}, {"entry", entries}};
}

}  // namespace hisgate::controlplane::vitals
