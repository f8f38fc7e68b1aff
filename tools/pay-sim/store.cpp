#include "pay-sim/store.h"

#include <chrono>

#include "common/random_id.h"
#include "common/utc_time.h"

namespace hisgate::paysim {

namespace {

constexpr const char* kOrderColumns =
    "out_trade_no, amount_fen, currency, description, notify_url, prepay_id, transaction_id, trade_state, created_ms, "
    "paid_ms, closed_ms, refunded_fen";

Order read_order(const sql::Statement& st) {
    Order o;
    o.fields.out_trade_no = st.text(0);
    o.fields.amount_fen = st.integer(1);
    o.fields.currency = st.text(2);
    o.fields.description = st.text(3);
    o.fields.notify_url = st.text(4);
    o.prepay_id = st.text(5);
    o.transaction_id = st.text(6);
    o.trade_state = st.text(7);
    o.created_ms = st.integer(8);
    o.paid_ms = st.integer(9);
    o.closed_ms = st.integer(10);
    o.refunded_fen = st.integer(11);
    return o;
}

Error not_exist() { return make_error(ErrorClass::NotFound, "ORDER_NOT_EXIST", "no order has this out_trade_no"); }


Error db_error(const Error& e) { return make_error(ErrorClass::Internal, "SYSTEM_ERROR", "pay-sim's records: " + e.describe()); }

}  // namespace

Result<std::unique_ptr<PayStore>> PayStore::open(const std::string& path) {
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS orders (out_trade_no TEXT PRIMARY KEY, amount_fen INTEGER NOT NULL, "
               "currency TEXT NOT NULL, description TEXT NOT NULL, notify_url TEXT NOT NULL, prepay_id TEXT NOT NULL UNIQUE, "
               "transaction_id TEXT NOT NULL DEFAULT '', trade_state TEXT NOT NULL, created_ms INTEGER NOT NULL, "
               "paid_ms INTEGER NOT NULL DEFAULT 0, closed_ms INTEGER NOT NULL DEFAULT 0, "
               "refunded_fen INTEGER NOT NULL DEFAULT 0, CHECK (refunded_fen <= amount_fen))",
               "CREATE TABLE IF NOT EXISTS refunds (out_refund_no TEXT PRIMARY KEY, refund_id TEXT NOT NULL, "
               "out_trade_no TEXT NOT NULL REFERENCES orders(out_trade_no), amount_fen INTEGER NOT NULL, at_ms INTEGER NOT NULL)",
               "CREATE INDEX IF NOT EXISTS orders_by_paid ON orders(paid_ms)",
               "CREATE INDEX IF NOT EXISTS refunds_by_time ON refunds(at_ms)"});
    if (!db) return db.error();
    return std::unique_ptr<PayStore>(new PayStore(std::move(db.value())));
}

Result<Order> PayStore::get_locked(const std::string& column, const std::string& value) {
    // `column` is one of two fixed names, never input.
    auto st = db_.prepare_cached(std::string("SELECT ") + kOrderColumns + " FROM orders WHERE " +
                                 (column == "prepay_id" ? "prepay_id" : "out_trade_no") + " = ?1");
    if (!st) return db_error(st.error());
    st->bind(1, value);
    if (!st->step()) return st->error() ? db_error(*st->error()) : not_exist();
    return read_order(*st);
}

Result<Order> PayStore::get(const std::string& out_trade_no) {
    std::lock_guard lock(mu_);
    return get_locked("out_trade_no", out_trade_no);
}

Result<Order> PayStore::create(const NewOrder& order, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto existing = get_locked("out_trade_no", order.out_trade_no);
    if (existing) {
        const auto& f = existing->fields;
        const char* differs = f.amount_fen != order.amount_fen       ? "amount.total"
                              : f.currency != order.currency         ? "amount.currency"
                              : f.description != order.description   ? "description"
                              : f.notify_url != order.notify_url     ? "notify_url"
                                                                     : nullptr;
        if (differs)
            return make_error(ErrorClass::Rejected, "OUT_TRADE_NO_USED",
                              std::string("out_trade_no is already used by an order with another ") + differs);
        return existing;
    }
    if (existing.error().cls != ErrorClass::NotFound) return existing.error();
    Order o;
    o.fields = order;
    o.prepay_id = "wx" + random_hex(16);
    o.trade_state = "NOTPAY";
    o.created_ms = now_ms;
    auto st = db_.prepare_cached(
        "INSERT INTO orders (out_trade_no, amount_fen, currency, description, notify_url, prepay_id, trade_state, created_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'NOTPAY', ?7)");
    if (!st) return db_error(st.error());
    st->bind(1, order.out_trade_no).bind(2, order.amount_fen).bind(3, order.currency).bind(4, order.description);
    st->bind(5, order.notify_url).bind(6, o.prepay_id).bind(7, now_ms);
    if (auto ran = st->run(); !ran) return db_error(ran.error());
    return o;
}

Result<Payment> PayStore::pay_locked(Order order, int64_t now_ms) {
    if (order.trade_state == "CLOSED")
        return make_error(ErrorClass::Rejected, "ORDER_CLOSED", "the order was closed and can no longer be paid");
    if (order.trade_state != "NOTPAY") return Payment{std::move(order), false};
    order.trade_state = "SUCCESS";
    order.paid_ms = now_ms;
    order.transaction_id = random_hex(16);
    auto st = db_.prepare_cached(
        "UPDATE orders SET trade_state = 'SUCCESS', paid_ms = ?2, transaction_id = ?3 "
        "WHERE out_trade_no = ?1 AND trade_state = 'NOTPAY'");
    if (!st) return db_error(st.error());
    st->bind(1, order.fields.out_trade_no).bind(2, now_ms).bind(3, order.transaction_id);
    if (auto ran = st->run(); !ran) return db_error(ran.error());
    return Payment{std::move(order), true};
}

Result<Payment> PayStore::pay_prepay(const std::string& prepay_id, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto o = get_locked("prepay_id", prepay_id);
    if (!o) return o.error().cls == ErrorClass::NotFound
                      ? make_error(ErrorClass::NotFound, "ORDER_NOT_EXIST", "no order has this prepay_id")
                      : o.error();
    return pay_locked(std::move(o.value()), now_ms);
}

Result<Payment> PayStore::pay_order(const std::string& out_trade_no, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto o = get_locked("out_trade_no", out_trade_no);
    if (!o) return o.error();
    return pay_locked(std::move(o.value()), now_ms);
}

Result<Order> PayStore::close(const std::string& out_trade_no, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto o = get_locked("out_trade_no", out_trade_no);
    if (!o) return o.error();
    if (o->trade_state == "CLOSED") return o;
    if (o->trade_state != "NOTPAY")
        return make_error(ErrorClass::Rejected, "ORDERPAID", "the order is paid (" + o->trade_state + ") and cannot be closed");
    auto st = db_.prepare_cached("UPDATE orders SET trade_state = 'CLOSED', closed_ms = ?2 WHERE out_trade_no = ?1 AND trade_state = 'NOTPAY'");
    if (!st) return db_error(st.error());
    st->bind(1, out_trade_no).bind(2, now_ms);
    if (auto ran = st->run(); !ran) return db_error(ran.error());
    o->trade_state = "CLOSED";
    o->closed_ms = now_ms;
    return o;
}

Result<Refund> PayStore::refund(const std::string& out_trade_no, const std::string& out_refund_no, int64_t amount_fen,
                                int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto prior = db_.prepare_cached("SELECT refund_id, out_trade_no, amount_fen, at_ms FROM refunds WHERE out_refund_no = ?1");
    if (!prior) return db_error(prior.error());
    prior->bind(1, out_refund_no);
    if (prior->step()) {
        Refund r{out_refund_no, prior->text(0), prior->text(1), prior->integer(2), prior->integer(3)};
        if (r.out_trade_no != out_trade_no || r.amount_fen != amount_fen)
            return make_error(ErrorClass::Rejected, "OUT_REFUND_NO_USED",
                              std::string("out_refund_no is already used for ") +
                                  (r.out_trade_no != out_trade_no ? "another order" : "another amount"));
        return r;  // a retry: the same refund, never a second one
    }
    if (prior->error()) return db_error(*prior->error());
    prior->reset();
    auto o = get_locked("out_trade_no", out_trade_no);
    if (!o) return o.error();
    if (o->trade_state != "SUCCESS" && o->trade_state != "REFUND")
        return make_error(ErrorClass::Rejected, "ORDER_NOT_PAID", "the order is " + o->trade_state + "; only a paid order is refunded");
    if (o->refunded_fen + amount_fen > o->fields.amount_fen)
        return make_error(ErrorClass::Rejected, "REFUND_EXCEEDS_PAID",
                          "amount.refund " + std::to_string(amount_fen) + " fen with " + std::to_string(o->refunded_fen) +
                              " already refunded is over the " + std::to_string(o->fields.amount_fen) + " fen paid");
    Refund r{out_refund_no, "rf" + random_hex(16), out_trade_no, amount_fen, now_ms};
    auto done = db_.transaction([&]() -> Result<void> {
        auto ins = db_.prepare_cached("INSERT INTO refunds (out_refund_no, refund_id, out_trade_no, amount_fen, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!ins) return ins.error();
        ins->bind(1, r.out_refund_no).bind(2, r.refund_id).bind(3, r.out_trade_no).bind(4, r.amount_fen).bind(5, r.at_ms);
        if (auto ran = ins->run(); !ran) return ran.error();
        auto up = db_.prepare_cached("UPDATE orders SET trade_state = 'REFUND', refunded_fen = refunded_fen + ?2 WHERE out_trade_no = ?1");
        if (!up) return up.error();
        up->bind(1, out_trade_no).bind(2, amount_fen);
        return up->run();
    });
    if (!done) return db_error(done.error());
    return r;
}

Result<std::vector<ledger::ProviderLine>> PayStore::bill(int64_t from_ms, int64_t to_ms) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare_cached(
        "SELECT out_trade_no, 'payment', amount_fen, paid_ms, '' FROM orders WHERE paid_ms >= ?1 AND paid_ms < ?2 AND paid_ms > 0 "
        "UNION ALL SELECT out_trade_no, 'refund', amount_fen, at_ms, out_refund_no FROM refunds WHERE at_ms >= ?1 AND at_ms < ?2 "
        "ORDER BY 4, 1, 5");
    if (!st) return db_error(st.error());
    st->bind(1, from_ms).bind(2, to_ms);
    std::vector<ledger::ProviderLine> lines;
    while (st->step())
        lines.push_back({st->text(0), st->text(1), st->integer(2), iso_utc_ms(st->integer(3)), st->text(4)});
    if (st->error()) return db_error(*st->error());
    return lines;
}

}  // namespace hisgate::paysim
