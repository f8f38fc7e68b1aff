// pay-sim's HTTP APIs (docs/pay-sim.md): the provider's, which the control plane and the
// patient's browser call, and the control API, which tests and the demo use to arm faults.
//
// Provider API (WeChat Pay v3-like JSON; errors {"code", "message"} with the provider's
// codes; 400 bad input, 404 no such order, 409 the order's state forbids it, 413 a body
// over kMaxBodyBytes, 503 a refund_fail fault):
//   POST /v3/pay/transactions/native                   create (idempotent by out_trade_no)
//   GET  /v3/pay/transactions/out-trade-no/{no}        query
//   POST /v3/pay/transactions/out-trade-no/{no}/close  close: 204, or 409 ORDERPAID
//   POST /v3/refund/domestic/refunds                   refund (idempotent by out_refund_no)
//   POST /v3/checkout/{prepay_id}                      the patient pays (the provider's page)
//   GET  /v3/bill?date=YYYY-MM-DD                      the day's bill, CSV (UTC day)
// Control API:
//   GET /faults; POST /faults (one fault or a list; pay-sim/faults.h); DELETE /faults;
//   GET /stats (notifications sent, delivered, retried, given up, lost); GET /metrics, /healthz
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <cstddef>

#include "common/clock.h"
#include "pay-sim/faults.h"
#include "pay-sim/notifier.h"
#include "pay-sim/store.h"

namespace hisgate::paysim {

inline constexpr std::size_t kMaxBodyBytes = 16u << 10;        // any provider API body
inline constexpr std::size_t kMaxControlBodyBytes = 64u << 10;  // a faults body
inline constexpr std::size_t kMaxReasonBytes = 80;              // a refund's reason

class ProviderApi {
public:
    ProviderApi(PayStore& store, FaultBook& faults, Notifier& notifier, Clock& clock)
        : store_(store), faults_(faults), notifier_(notifier), clock_(clock) {}
    void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);

private:
    void create(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void query(const std::string& no, Poco::Net::HTTPServerResponse& res);
    void close(const std::string& no, Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void refund(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res);
    void checkout(const std::string& prepay_id, Poco::Net::HTTPServerResponse& res);
    void bill(const std::string& raw_query, Poco::Net::HTTPServerResponse& res);
    // A payment just made: its notification, as the faults in force say.
    void notify(const Order& paid);
    int64_t now_ms() const { return clock_.wall_ms(); }

    PayStore& store_;
    FaultBook& faults_;
    Notifier& notifier_;
    Clock& clock_;
};

void serve_control(FaultBook& faults, Notifier& notifier, Poco::Net::HTTPServerRequest& req,
                   Poco::Net::HTTPServerResponse& res);

}  // namespace hisgate::paysim
