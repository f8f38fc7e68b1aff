#include "controlplane/fhir/fhir_data.h"

#include <map>

namespace hisgate::controlplane::fhir {

namespace {

using public_partition::SearchKind;

class PrimaryFhirData final : public FhirData {
public:
    explicit PrimaryFhirData(public_partition::PublicPrimary& primary) : primary_(primary) {}

    Result<std::optional<nlohmann::json>> hospital(const std::string& hospital_id) override {
        return primary_.reference(public_partition::kHospital, hospital_id, hospital_id);
    }
    Result<ReferencePage> hospitals(const std::string& region, int count, const std::string& cursor) override {
        std::map<std::string, std::string> params{{"limit", std::to_string(count)}};
        if (!region.empty()) params["region"] = region;
        return page(SearchKind::Hospitals, std::move(params), cursor);
    }
    Result<std::optional<nlohmann::json>> doctor(const std::string& hospital_id, const std::string& doctor_id) override {
        return primary_.reference(public_partition::kDoctor, hospital_id, doctor_id);
    }
    Result<ReferencePage> doctors(const std::string& hospital_id, int count, const std::string& cursor) override {
        std::map<std::string, std::string> params{{"limit", std::to_string(count)}};
        if (!hospital_id.empty()) params["hospital"] = hospital_id;
        return page(SearchKind::Doctors, std::move(params), cursor);
    }

    Result<std::optional<nlohmann::json>> slot(const std::string& hospital_id, const std::string& slot_id) override {
        auto found = primary_.slot(hospital_id, slot_id);
        if (found && *found) (**found)["hospitalId"] = hospital_id;
        return found;
    }
    Result<ReferencePage> slots(const std::string& hospital_id, const std::string& doctor_id, const std::string& from,
                                const std::string& to, bool free_only, int count, const std::string& cursor) override {
        std::map<std::string, std::string> params{{"limit", std::to_string(count)}, {"hospital", hospital_id},
                                                  {"doctor", doctor_id}, {"from", from},
                                                  {"free", free_only ? "true" : "false"}};
        if (!to.empty()) params["to"] = to;
        return page(SearchKind::Slots, std::move(params), cursor);
    }

private:
    Result<ReferencePage> page(SearchKind kind, std::map<std::string, std::string> params, const std::string& cursor) {
        if (!cursor.empty()) params["cursor"] = cursor;
        // `today` is the slot window's default start; every slot search here gives `from`.
        auto req = public_partition::parse_search(kind, params, "2000-01-01");
        if (!req) {
            if (req.error().cls == ErrorClass::BadInput)
                return make_error(ErrorClass::BadInput, "fhir.bad_search", req.error().message);
            return req.error();
        }
        auto found = primary_.search(*req);
        if (!found) return found.error();
        ReferencePage out;
        for (auto& item : (*found)["items"]) out.items.push_back(std::move(item));
        if ((*found)["next"].is_string()) out.next = (*found)["next"].get<std::string>();
        return out;
    }
    public_partition::PublicPrimary& primary_;
};

}  // namespace

std::unique_ptr<FhirData> primary_fhir_data(public_partition::PublicPrimary& primary) {
    return std::make_unique<PrimaryFhirData>(primary);
}

}  // namespace hisgate::controlplane::fhir
