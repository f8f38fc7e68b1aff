#include "controlplane/fhir/fhir_data.h"

#include <map>

#include "controlplane/ledger/money.h"
#include "controlplane/money/ledger_service.h"
#include "controlplane/money/money_api.h"
#include "controlplane/patient_records.h"
#include "common/log.h"
#include "controlplane/router.h"
#include "controlplane/task_results.h"

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

namespace {

class LedgerRouterPatientData final : public PatientData {
public:
    LedgerRouterPatientData(Router& router, TaskResults& results, money::LedgerService* ledgers, PatientRecords* records)
        : router_(router), results_(results), ledgers_(ledgers), records_(records) {}

    Result<std::vector<nlohmann::json>> bookings(const std::string& patient_id, int scan) override {
        std::vector<nlohmann::json> out;
        if (!ledgers_) return out;
        auto mine = ledgers_->of_patient(patient_id, scan);
        if (!mine) return mine.error();
        std::map<std::string, nlohmann::json> cancels;  // booking id -> its cancel correction
        for (const auto& t : *mine)
            if (t.transaction.intent.kind == ledger::TxKind::Cancel) cancels[t.transaction.intent.corrects] = money::transaction_json(t);
        for (const auto& t : *mine) {
            if (t.transaction.intent.kind != ledger::TxKind::Booking || !t.transaction.exists) continue;
            auto b = money::transaction_json(t);
            if (auto c = cancels.find(t.transaction.intent.id); c != cancels.end()) b["cancel"] = c->second;
            if (auto kept = with_booked_slot(b); !kept) return kept.error();
            out.push_back(std::move(b));
        }
        return out;
    }

    Result<std::optional<nlohmann::json>> booking(const std::string& transaction_id) override {
        if (!ledgers_) return std::optional<nlohmann::json>();
        auto t = ledgers_->find(transaction_id);
        if (!t && t.error().cls == ErrorClass::NotFound) return std::optional<nlohmann::json>();
        if (!t) return t.error();
        if (t->transaction.intent.kind != ledger::TxKind::Booking || !t->transaction.exists)
            return std::optional<nlohmann::json>();
        auto b = money::transaction_json(*t);
        auto fixes = ledgers_->corrections_of(transaction_id);
        if (!fixes) return fixes.error();
        // The newest cancel that is not given up, else the newest of any.
        for (const auto& f : *fixes)
            if (f.transaction.intent.kind == ledger::TxKind::Cancel &&
                (!b.contains("cancel") || (f.transaction.state != ledger::TxState::Voided &&
                                           f.transaction.state != ledger::TxState::Rejected)))
                b["cancel"] = money::transaction_json(f);
        if (auto kept = with_booked_slot(b); !kept) return kept.error();
        return std::optional<nlohmann::json>(std::move(b));
    }

    Result<std::optional<nlohmann::json>> ask(const std::string& hospital_id, const std::string& type,
                                              const nlohmann::json& body, const std::string& patient_id,
                                              std::string* task_id) override {
        RequestOrigin origin{patient_id, ""};
        auto asked = router_.ask(hospital_id, type, body, "", origin);
        if (task_id) *task_id = asked.task_id;
        if (asked.answer) return std::optional<nlohmann::json>(std::move(asked.answer.value()));
        if (asked.answer.error().cls == ErrorClass::Timeout) return std::optional<nlohmann::json>();
        return asked.answer.error();
    }

    void delivered(const std::string& task_id) override {
        if (task_id.empty()) return;
        if (auto noted = results_.mark_delivered(task_id); !noted)
            log::error("fhir.delivery_not_noted", {{"task_id", task_id}, {"error", noted.error().describe()}});
    }

private:
    // The slot the booking was sent for, as "bookedSlot" (fhir::appointment's fallback).
    Result<void> with_booked_slot(nlohmann::json& booking) {
        if (!records_) return {};
        auto kept = records_->booked_slot(booking.value("transactionId", ""));
        if (!kept) return kept.error();
        if (!*kept) return {};
        const BookedSlot& k = **kept;
        booking["bookedSlot"] = {{"hospitalId", k.hospital_id}, {"slotId", k.slot_id}, {"doctorId", k.doctor_id},
                                 {"date", k.date}, {"start", k.start}, {"end", k.end}, {"half", k.half}};
        return {};
    }

    Router& router_;
    TaskResults& results_;
    money::LedgerService* ledgers_;
    PatientRecords* records_;
};

}  // namespace

std::unique_ptr<PatientData> ledger_router_patient_data(Router& router, TaskResults& results, money::LedgerService* ledgers,
                                                        PatientRecords* records) {
    return std::make_unique<LedgerRouterPatientData>(router, results, ledgers, records);
}

}  // namespace hisgate::controlplane::fhir
