// pay-sim's faults on command (docs/pay-sim.md, "Faults"): set at start from the config's
// "faults" list or through the control API (POST /faults), each one
//   {"kind": K, "count": N, "out_trade_no": ID, "delay_ms": MS}
// Kinds, and the point where each one acts:
//   notify_lost        a payment's notification is never sent (nor retried)
//   notify_duplicate   a payment's notification is sent twice (same event id)
//   notify_late        a payment's notification's first attempt waits delay_ms
//   query_notpay_once  a query of a paid order answers NOTPAY (the next one the truth)
//   close_paid_in_gap  a close of an unpaid order finds it paid: the patient pays just
//                      before it (notification and all), and the close fails ORDERPAID
//   refund_fail        a refund answers 503 SYSTEM_ERROR and records nothing (a retry
//                      with the same out_refund_no then succeeds)
// A fault acts `count` times (default 1): with an out_trade_no only on that order, without
// one on whichever orders reach its point next. Each action uses one; a fault used up is
// gone. A fault naming the order is taken before one that does not.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate::paysim {

enum class FaultKind { NotifyLost, NotifyDuplicate, NotifyLate, QueryNotPayOnce, ClosePaidInGap, RefundFail };

struct Fault {
    FaultKind kind = FaultKind::NotifyLost;
    std::string out_trade_no;  // empty: any order
    int count = 1;
    int64_t delay_ms = 0;      // notify_late only
};

// BadInput "faults.bad_fault" naming the field and what was expected.
Result<Fault> fault_from_json(const nlohmann::json& doc, const std::string& where = "the fault");
nlohmann::json to_json(const Fault& f);

class FaultBook {
public:
    void add(Fault f);
    // Uses one action of the first fault of `kind` that applies to this order, if any.
    std::optional<Fault> take(FaultKind kind, const std::string& out_trade_no);
    void clear();
    nlohmann::json to_json() const;

private:
    mutable std::mutex mu_;
    std::vector<Fault> faults_;
};

}  // namespace hisgate::paysim
