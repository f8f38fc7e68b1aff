#include "agent/gated_adapter.h"

namespace hisgate::agent {

template <typename F>
auto GatedAdapter::through(TaskClass urgency, F&& call) -> decltype(call()) {
    auto pass = gate_.enter(urgency, urgency == TaskClass::RealTime ? patience_.realtime : patience_.deferred);
    if (!pass) return pass.error();
    return call();
}

Result<ReferenceData> GatedAdapter::extract_reference_data(const std::string& from_date, const std::string& to_date) {
    return through(TaskClass::Deferred, [&] { return inner_.extract_reference_data(from_date, to_date); });
}
Result<Booking> GatedAdapter::book(const BookingOrder& order) {
    return through(TaskClass::RealTime, [&] { return inner_.book(order); });
}
Result<Booking> GatedAdapter::cancel(const std::string& order_id) {
    return through(TaskClass::RealTime, [&] { return inner_.cancel(order_id); });
}
Result<Booking> GatedAdapter::booking_status(const std::string& order_id) {
    return through(TaskClass::RealTime, [&] { return inner_.booking_status(order_id); });
}
Result<Payment> GatedAdapter::pay(const PaymentOrder& order) {
    return through(TaskClass::RealTime, [&] { return inner_.pay(order); });
}
Result<Payment> GatedAdapter::refund(const PaymentOrder& order) {
    return through(TaskClass::RealTime, [&] { return inner_.refund(order); });
}
Result<Payment> GatedAdapter::payment_status(const std::string& order_id) {
    return through(TaskClass::RealTime, [&] { return inner_.payment_status(order_id); });
}
Result<Report> GatedAdapter::get_report(const std::string& report_id) {
    return through(TaskClass::Deferred, [&] { return inner_.get_report(report_id); });
}
Result<std::vector<ReportSummary>> GatedAdapter::list_reports(const std::string& patient_id) {
    return through(TaskClass::Deferred, [&] { return inner_.list_reports(patient_id); });
}
Result<std::vector<StatementLine>> GatedAdapter::daily_statement(const std::string& date) {
    return through(TaskClass::Deferred, [&] { return inner_.daily_statement(date); });
}

Result<HisClockReading> GatedAdapter::read_clock() {
    return through(TaskClass::RealTime, [&] { return inner_.read_clock(); });
}

}  // namespace hisgate::agent
