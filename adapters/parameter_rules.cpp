#include "adapters/parameter_rules.h"

#include <map>
#include <regex>

namespace hisgate {

namespace {

class ParameterRules : public HisAdapter {
public:
    ParameterRules(std::unique_ptr<HisAdapter> inner, const params::ParamSet& p)
        : inner_(std::move(inner)),
          patient_id_(p.string("his.id_formats.patient_id")),
          report_id_(p.string("his.id_formats.report_id")) {
        for (const auto& [vendor, ours] : p.code_table("his.code_tables.payment_method")) vendor_method_[ours] = vendor;
    }

    std::string dialect() const override { return inner_->dialect(); }

    Result<ReferenceData> extract_reference_data(const std::string& from, const std::string& to) override {
        return inner_->extract_reference_data(from, to);
    }
    Result<Booking> book(const BookingOrder& order) override {
        if (auto bad = check_patient(order.patient_id)) return *bad;
        return inner_->book(order);
    }
    Result<Booking> cancel(const std::string& order_id) override { return inner_->cancel(order_id); }
    Result<Payment> pay(const PaymentOrder& order) override {
        auto vendor = in_vendor_codes(order);
        if (!vendor) return vendor.error();
        return inner_->pay(vendor.value());
    }
    Result<Payment> refund(const PaymentOrder& order) override {
        auto vendor = in_vendor_codes(order);
        if (!vendor) return vendor.error();
        return inner_->refund(vendor.value());
    }
    Result<Payment> payment_status(const std::string& order_id) override { return inner_->payment_status(order_id); }
    Result<Report> get_report(const std::string& report_id) override {
        if (!std::regex_match(report_id, report_id_))
            return make_error(ErrorClass::BadInput, "his.bad_report_id",
                              "the report id does not have this hospital's report id format (his.id_formats.report_id)");
        return inner_->get_report(report_id);
    }
    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override {
        if (auto bad = check_patient(patient_id)) return *bad;
        return inner_->list_reports(patient_id);
    }
    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override {
        return inner_->daily_statement(date);
    }

private:
    std::optional<Error> check_patient(const std::string& id) const {
        if (std::regex_match(id, patient_id_)) return std::nullopt;
        // The id itself is PHI: the message names the rule, not the value.
        return make_error(ErrorClass::BadInput, "his.bad_patient_id",
                          "the patient id does not have this hospital's patient id format (his.id_formats.patient_id)");
    }

    // An empty code table means the HIS uses hisgate's own method codes.
    Result<PaymentOrder> in_vendor_codes(PaymentOrder order) const {
        if (vendor_method_.empty()) return order;
        auto it = vendor_method_.find(order.method);
        if (it == vendor_method_.end())
            return make_error(ErrorClass::BadInput, "his.unknown_payment_method",
                              "payment method \"" + order.method +
                                  "\" has no code at this hospital (his.code_tables.payment_method)");
        order.method = it->second;
        return order;
    }

    std::unique_ptr<HisAdapter> inner_;
    std::regex patient_id_, report_id_;  // valid: the catalog compiled them when the file loaded
    std::map<std::string, std::string> vendor_method_;  // hisgate code -> vendor code
};

}  // namespace

std::unique_ptr<HisAdapter> with_parameter_rules(std::unique_ptr<HisAdapter> adapter, const params::ParamSet& p) {
    return std::make_unique<ParameterRules>(std::move(adapter), p);
}

}  // namespace hisgate
