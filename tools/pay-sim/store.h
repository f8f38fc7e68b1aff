// pay-sim's records (docs/pay-sim.md): orders and refunds in its own SQLite file, the
// provider's side of every payment. Every change is one SQLite transaction, under one
// mutex (the HTTP threads share the connection), so a check and the write it permits are
// never split.
//
// An order's trade_state:
//   NOTPAY ──pay──> SUCCESS ──refund──> REFUND (partly or wholly refunded)
//      └───close──> CLOSED  (never paid; cannot be paid after)
// Invariants: an order is paid at most once; the refunds of an order never sum above what
// was paid; a refund is recorded once per out_refund_no (a retry gets the stored one);
// nothing is ever deleted, so the daily bill can always be rebuilt.
// Errors carry the provider's codes (ORDER_NOT_EXIST, ORDERPAID, ...), by class:
// BadInput → 400, NotFound → 404, Rejected (the order's state forbids it) → 409.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/sqlite.h"
#include "controlplane/ledger/reconcile.h"

namespace hisgate::paysim {

struct NewOrder {
    std::string out_trade_no;
    int64_t amount_fen = 0;
    std::string currency = "CNY";
    std::string description;
    std::string notify_url;
};

struct Order {
    NewOrder fields;
    std::string prepay_id;
    std::string transaction_id;  // set when paid
    std::string trade_state;     // NOTPAY, SUCCESS, CLOSED, REFUND
    int64_t created_ms = 0, paid_ms = 0, closed_ms = 0;
    int64_t refunded_fen = 0;
};

struct Refund {
    std::string out_refund_no, refund_id, out_trade_no;
    int64_t amount_fen = 0;
    int64_t at_ms = 0;
};

struct Payment {
    Order order;
    bool newly_paid = false;  // false: it was paid before (a second checkout)
};

class PayStore {
public:
    static Result<std::unique_ptr<PayStore>> open(const std::string& path);

    // A retry with the same fields answers the stored order; other fields are refused
    // (OUT_TRADE_NO_USED, naming the first that differs).
    Result<Order> create(const NewOrder& order, int64_t now_ms);
    Result<Order> get(const std::string& out_trade_no);
    // The patient pays, on the provider's page: by the order's prepay id, or (a fault: the
    // patient paid just before a close) by its out_trade_no. ORDER_CLOSED once closed.
    Result<Payment> pay_prepay(const std::string& prepay_id, int64_t now_ms);
    Result<Payment> pay_order(const std::string& out_trade_no, int64_t now_ms);
    // NOTPAY → CLOSED; CLOSED again is fine; paid → ORDERPAID.
    Result<Order> close(const std::string& out_trade_no, int64_t now_ms);
    // ORDER_NOT_PAID, REFUND_EXCEEDS_PAID, OUT_REFUND_NO_USED (another order or amount).
    Result<Refund> refund(const std::string& out_trade_no, const std::string& out_refund_no, int64_t amount_fen,
                          int64_t now_ms);
    // Every payment (by its payment time) and refund in [from_ms, to_ms), by time then id.
    Result<std::vector<ledger::ProviderLine>> bill(int64_t from_ms, int64_t to_ms);

private:
    explicit PayStore(sql::Db db) : db_(std::move(db)) {}
    Result<Order> get_locked(const std::string& column, const std::string& value);
    Result<Payment> pay_locked(Order order, int64_t now_ms);
    std::mutex mu_;
    sql::Db db_;
};

}  // namespace hisgate::paysim
