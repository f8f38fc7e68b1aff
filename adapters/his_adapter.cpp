#include "adapters/his_adapter.h"

namespace hisgate {

nlohmann::json Report::to_json() const {
    nlohmann::json obs = nlohmann::json::array();
    for (const auto& o : observations) {
        obs.push_back({{"code", o.code},
                       {"name", o.name},
                       {"value", o.value},
                       {"units", o.units},
                       {"referenceRange", o.reference_range},
                       {"flag", o.flag}});
        // Only a mapped line says more: an answer without the map stays as it was.
        if (!o.loinc_code.empty()) obs.back()["loinc"] = {{"code", o.loinc_code}, {"display", o.loinc_display}};
    }
    return {{"reportId", report_id}, {"patientId", patient_id}, {"title", title},
            {"status", status},      {"issuedAt", issued_at},   {"observations", obs},
            {"patientSex", patient_sex}};
}

}  // namespace hisgate
