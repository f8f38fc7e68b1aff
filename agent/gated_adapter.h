// A HisAdapter that passes every call through the HIS gate, so probes, extraction and
// tasks together never exceed what the hospital allows. Calls that change the HIS or
// that a patient waits for enter as real-time; reads for reports, reference data and
// statements enter as deferred.
#pragma once

#include <chrono>
#include <memory>

#include "adapters/his_adapter.h"
#include "agent/his_gate.h"

namespace hisgate::agent {

class GatedAdapter : public HisAdapter {
public:
    // How long a call waits to enter the gate before it is refused as unavailable.
    struct Patience {
        std::chrono::milliseconds realtime{2000};
        std::chrono::milliseconds deferred{60000};
    };
    GatedAdapter(HisAdapter& inner, HisGate& gate, Patience patience) : inner_(inner), gate_(gate), patience_(patience) {}

    std::string dialect() const override { return inner_.dialect(); }
    Result<ReferenceData> extract_reference_data(const std::string& from_date, const std::string& to_date) override;
    Result<Booking> book(const BookingOrder& order) override;
    Result<Booking> cancel(const std::string& order_id) override;
    Result<Booking> booking_status(const std::string& order_id) override;
    Result<Payment> pay(const PaymentOrder& order) override;
    Result<Payment> refund(const PaymentOrder& order) override;
    Result<Payment> payment_status(const std::string& order_id) override;
    Result<Report> get_report(const std::string& report_id) override;
    Result<std::vector<ReportSummary>> list_reports(const std::string& patient_id) override;
    Result<std::vector<StatementLine>> daily_statement(const std::string& date) override;
    Result<HisClockReading> read_clock() override;
    // Pushes come from the HIS: nothing to pass through the gate.
    Result<std::unique_ptr<PushListener>> listen_for_pushes(PushHandler handler) override {
        return inner_.listen_for_pushes(std::move(handler));
    }

private:
    template <typename F>
    auto through(TaskClass urgency, F&& call) -> decltype(call());

    HisAdapter& inner_;
    HisGate& gate_;
    Patience patience_;
};

}  // namespace hisgate::agent
