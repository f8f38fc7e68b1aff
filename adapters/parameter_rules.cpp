#include "adapters/parameter_rules.h"

#include "adapters/sex_codes.h"
#include "common/log.h"
#include "common/pattern.h"

#include "appointment-rules/calendar.h"
#include "common/time_zone.h"

#include <cstdio>
#include <cstdlib>
#include <map>

namespace hisgate {

namespace {

class ParameterRules : public HisAdapter {
public:
    ParameterRules(std::unique_ptr<HisAdapter> inner, const params::ParamSet& p, TimeZone zone, Pattern patient_id,
                   Pattern report_id)
        : inner_(std::move(inner)),
          zone_(std::move(zone)),
          patient_id_(std::move(patient_id)),
          report_id_(std::move(report_id)),
          sex_(p.code_table("his.code_tables.sex")) {
        for (const auto& [vendor, ours] : p.code_table("his.code_tables.payment_method")) vendor_method_[ours] = vendor;
        // The validator checked each entry's shape (config-params coding_map).
        for (const auto& [his_code, coding] : p.json("his.code_tables.lab_loinc").items())
            lab_loinc_[his_code] = {coding.value("code", ""), coding.value("display", "")};
    }

    std::string dialect() const override { return inner_->dialect(); }

    Result<ReferenceData> extract_reference_data(const std::string& from, const std::string& to) override {
        return inner_->extract_reference_data(from, to);
    }
    Result<Booking> book(const BookingOrder& order) override {
        if (auto bad = check_patient(order.patient_id)) return *bad;
        BookingOrder vendor = order;
        if (!order.patient_sex.empty()) {
            auto code = sex_.vendor(order.patient_sex);
            if (!code)
                return make_error(ErrorClass::BadInput, "his.unknown_sex",
                                  "patient sex \"" + order.patient_sex + "\" has no code at this hospital (his.code_tables.sex)");
            vendor.patient_sex = *code;
        }
        return in_hisgate_codes(inner_->book(vendor));
    }
    Result<Booking> cancel(const std::string& order_id) override { return in_hisgate_codes(inner_->cancel(order_id)); }
    Result<Booking> booking_status(const std::string& order_id) override {
        return in_hisgate_codes(inner_->booking_status(order_id));
    }
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
        if (!report_id_.full_match(report_id))
            return make_error(ErrorClass::BadInput, "his.bad_report_id",
                              "the report id does not have this hospital's report id format (his.id_formats.report_id)");
        auto report = inner_->get_report(report_id);
        if (report) {
            report->issued_at = with_offset(report->issued_at);
            report->patient_sex = sex_in_hisgate_code(report->patient_sex);
            for (auto& line : report->observations) {
                auto it = lab_loinc_.find(line.code);
                if (it == lab_loinc_.end()) continue;
                line.loinc_code = it->second.first;
                line.loinc_display = it->second.second;
            }
        }
        return report;
    }
    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override {
        if (auto bad = check_patient(patient_id)) return *bad;
        auto list = inner_->list_reports(patient_id);
        if (list)
            for (auto& r : *list) r.issued_at = with_offset(r.issued_at);
        return list;
    }
    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override {
        return inner_->daily_statement(date);
    }

    Result<HisClockReading> read_clock() override { return inner_->read_clock(); }
    Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler handler) override {
        return inner_->listen_for_pushes(std::move(handler));
    }

private:
    // The HIS's local time -> the same with its UTC offset: "2026-11-20T08:30:00" ->
    // "2026-11-20T08:30:00+08:00"; minutes and fractions of a second too. A date alone
    // (or less) names no instant and a time that has an offset already is left as it is;
    // so is anything unreadable (the answer is still delivered, as the HIS wrote it).
    std::string with_offset(const std::string& local) const {
        if (local.size() < 16 || local[10] != 'T') return local;
        std::string_view rest = std::string_view(local).substr(16);
        if (rest.find_first_of("Z+-") != std::string_view::npos) return local;
        auto date = appointments::parse_date(std::string_view(local).substr(0, 10));
        auto minute = appointments::parse_time_of_day(std::string_view(local).substr(11, 5));
        if (!date || !minute) return local;
        auto utc = zone_.to_utc(*date, *minute);
        auto offset = std::chrono::duration_cast<std::chrono::minutes>(zone_.offset_at(utc)).count();
        char buf[8];
        std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset < 0 ? '-' : '+', static_cast<int>(std::abs(offset) / 60),
                      static_cast<int>(std::abs(offset) % 60));
        return local + buf;
    }

    // A code the table does not know reads as unknown: the rest of the answer is still good.
    std::string sex_in_hisgate_code(const std::string& vendor) const {
        auto ours = sex_.hisgate(vendor);
        if (ours) return *ours;
        log::warn("his.unknown_sex_code", {{"code", vendor}, {"parameter", "his.code_tables.sex"}});
        return "unknown";
    }
    Result<Booking> in_hisgate_codes(Result<Booking> b) const {
        if (b) b->patient_sex = sex_in_hisgate_code(b->patient_sex);
        return b;
    }

    std::optional<Error> check_patient(const std::string& id) const {
        if (patient_id_.full_match(id)) return std::nullopt;
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
    TimeZone zone_;
    Pattern patient_id_, report_id_;  // RE2: linear in the id, never recursing
    std::map<std::string, std::string> vendor_method_;  // hisgate code -> vendor code
    SexCodes sex_;
    std::map<std::string, std::pair<std::string, std::string>> lab_loinc_;  // HIS lab code -> LOINC code, display
};

}  // namespace

Result<std::unique_ptr<HisAdapter>> with_parameter_rules(std::unique_ptr<HisAdapter> adapter, const params::ParamSet& p) {
    std::string name = p.string("his.timezone").empty() ? p.string("hospital.timezone") : p.string("his.timezone");
    auto zone = TimeZone::load(name);
    if (!zone)
        return make_error(ErrorClass::Config, "params.invalid",
                          "his.timezone / hospital.timezone: expected a time zone of the tz database, found \"" + name +
                              "\" (" + zone.error().message + ")");
    // The validator compiled both already (a regex parameter RE2 refuses stops the file).
    auto patient_id = Pattern::compile(p.string("his.id_formats.patient_id"));
    auto report_id = Pattern::compile(p.string("his.id_formats.report_id"));
    for (auto [name, compiled] : {std::pair{"his.id_formats.patient_id", &patient_id}, {"his.id_formats.report_id", &report_id}})
        if (!*compiled)
            return make_error(ErrorClass::Config, "params.invalid",
                              std::string(name) + ": expected a regular expression RE2 accepts (" +
                                  compiled->error().message + ")");
    return std::unique_ptr<HisAdapter>(std::make_unique<ParameterRules>(std::move(adapter), p, std::move(zone.value()),
                                                                        std::move(patient_id.value()),
                                                                        std::move(report_id.value())));
}

}  // namespace hisgate
