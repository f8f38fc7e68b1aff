// The control plane's side of the payment provider (pay-sim, docs/pay-sim.md): the
// ledger's PaymentPort over the provider's HTTP API, plus creating and querying orders.
//
// close() and refund() are fire-and-forget, as the Confirmer expects: they queue the
// request and return; one worker thread sends the queue in order and hands each answer to
// the sinks the owner gave. The sinks run on the worker thread: the owner wires them to
// Confirmer::on_close_answer / on_refund_answer under its own lock (the Confirmer is not
// thread-safe); this class never touches the Confirmer.
//
// What reaches a sink:
//   close   204 → Closed; 409 ORDERPAID → AlreadyPaid;
//   refund  200 → refunded; a definite refusal (4xx: over the paid amount, not paid, ...)
//           → not refunded (the Confirmer's retry timer asks again);
//   anything else (no connection, a timeout, 5xx, an answer we cannot read) reaches only the
//   `failed` sink: a lost answer is not an answer, and the Confirmer's retry timer asks
//   again (close and refund are idempotent at the provider: by out_trade_no, and by
//   out_refund_no = the transaction id; a correction's refund is of the order it corrects,
//   with out_refund_no = the correction's id, and is answered by the correction's id).
// At most one request per id is queued or being sent: an ask for an id whose earlier ask has
// not finished (its answer handed to the sinks) is coalesced into it, counted, not queued (the
// Confirmer asks again when its next ask is due, if it still must).
// The queue is bounded (max_queue); a request that does not fit is dropped, counted and
// logged (not reported to a sink: the caller's thread may hold the sinks' lock), and the
// Confirmer's retry sends it again.
//
// Locking: the sinks run on the worker thread and never while this class holds its own
// mutex, so they may take the owner's lock, and the owner may call close()/refund() under
// it. The owner must not call stop() (or destroy this) while holding that lock: stop()
// waits for a sink that may be waiting for the lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "common/error.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/reconcile.h"

namespace hisgate::payments {

struct PaySimAddress {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::chrono::milliseconds timeout{5000};  // one HTTP exchange
    std::size_t max_queue = 10'000;           // closes and refunds waiting to be sent
};

struct PaymentSinks {
    std::function<void(const std::string& id, ledger::CloseOutcome)> close_answer;
    std::function<void(const std::string& id, bool refunded)> refund_answer;
    // Optional: a request that got no usable answer, or a definite refusal, with why (on
    // the worker thread, like the others).
    std::function<void(const std::string& id, const Error&)> failed;
};

struct OrderRequest {
    std::string out_trade_no;  // the ledger's transaction id
    int64_t amount_fen = 0;
    std::string currency = "CNY";
    std::string description;   // never PHI: "outpatient fee", not the patient's name
    std::string notify_url;    // where the provider POSTs the signed notification
};

struct OrderStatus {
    std::string out_trade_no;
    std::string trade_state;  // NOTPAY, SUCCESS, CLOSED, REFUND
    int64_t amount_fen = 0;
    int64_t refunded_fen = 0;
    std::string transaction_id;  // the provider's, once paid
    std::string success_time;    // once paid
};

class PaySimProvider final : public ledger::PaymentPort {
public:
    PaySimProvider(PaySimAddress address, PaymentSinks sinks);
    ~PaySimProvider() override;  // stop()
    PaySimProvider(const PaySimProvider&) = delete;
    PaySimProvider& operator=(const PaySimProvider&) = delete;

    void close(const std::string& id) override;
    void refund(const std::string& id, int64_t amount_fen) override;
    void refund_correction(const std::string& correction_id, const std::string& order_id, int64_t amount_fen) override;

    // Synchronous, on the caller's thread. The prepay id is what the patient's checkout
    // page pays (POST /v3/checkout/{prepay_id}). Errors: BadInput for a request this side
    // refuses before sending; the provider's own code and message otherwise (class by
    // status: 400 BadInput, 404 NotFound, 409 Rejected, 5xx Unavailable).
    Result<std::string> create_order(const OrderRequest& order);
    Result<OrderStatus> query(const std::string& out_trade_no);
    // The provider's bill of one day (YYYY-MM-DD, UTC), parsed (bill.h). Synchronous.
    Result<std::vector<ledger::ProviderLine>> bill(const std::string& date);

    // Stops the worker after the request it is sending; what is still queued is dropped
    // (the Confirmer's retries send it again after a restart). Sinks are not called after.
    void stop();

    struct Counters {
        uint64_t sent = 0, answered = 0, failed = 0, dropped = 0;
        uint64_t coalesced = 0;  // asks for an id whose earlier ask was still queued or being sent
    };
    Counters counters() const;

private:
    struct Job {
        bool is_refund = false;
        std::string id;  // what the answer is by: the order (a close), the out_refund_no (a refund)
        int64_t amount_fen = 0;
        std::string order_id;  // a refund's out_trade_no
    };
    struct Reply {
        int status = 0;
        std::string body;
    };
    static std::string pending_key(const Job& job);
    void enqueue(Job job);
    void run();
    void send(const Job& job);
    Result<Reply> exchange(const std::string& method, const std::string& path, const std::string* body,
                           std::size_t max_answer_bytes);

    PaySimAddress address_;
    PaymentSinks sinks_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> queue_;
    // "close:<id>" / "refund:<id>" of every job queued or being sent: a second ask for one of
    // them is not queued (coalesced), so no request is ever sent twice at once.
    std::set<std::string> pending_;
    bool stopping_ = false;
    Counters counters_;
    std::thread worker_;
};

// The provider's JSON error body {"code", "message"} and the status it came with, as an Error.
Error provider_error(int status, const std::string& body);

}  // namespace hisgate::payments
