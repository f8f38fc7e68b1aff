#include "controlplane/payments/pay_sim_provider.h"

#include "controlplane/payments/bill.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "controlplane/payments/order_fields.h"

namespace hisgate::payments {

namespace {

constexpr std::size_t kMaxAnswerBytes = 64 * 1024;

ErrorClass class_of_status(int status) {
    if (status == 404) return ErrorClass::NotFound;
    if (status == 409) return ErrorClass::Rejected;
    if (status >= 400 && status < 500) return ErrorClass::BadInput;
    if (status >= 500) return ErrorClass::Unavailable;
    return ErrorClass::Protocol;
}

bool read_bounded(std::istream& in, std::string& out, size_t max) {
    char buf[8192];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        out.append(buf, static_cast<size_t>(in.gcount()));
        if (out.size() > max) return false;
    }
    return true;
}

Error protocol(const std::string& what) {
    return make_error(ErrorClass::Protocol, "payments.bad_answer", "the payment provider's answer: " + what);
}

}  // namespace

Error provider_error(int status, const std::string& body) {
    auto doc = parse_bounded_json(body, {"a provider error", kMaxAnswerBytes, "payments"});
    if (doc && doc->is_object() && doc->contains("code") && (*doc)["code"].is_string() &&
        (*doc)["code"].get_ref<const std::string&>().size() <= 64) {
        auto message = doc->value("message", nlohmann::json());
        return make_error(class_of_status(status), (*doc)["code"].get<std::string>(),
                          "the payment provider answered " + std::to_string(status) + ": " +
                              (message.is_string() ? message.get<std::string>().substr(0, 512) : std::string()));
    }
    return make_error(class_of_status(status), "payments.http_" + std::to_string(status),
                      "the payment provider answered " + std::to_string(status));
}

PaySimProvider::PaySimProvider(PaySimAddress address, PaymentSinks sinks)
    : address_(std::move(address)), sinks_(std::move(sinks)) {
    worker_ = std::thread([this] { run(); });
}

PaySimProvider::~PaySimProvider() { stop(); }

void PaySimProvider::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        queue_.clear();
        pending_.clear();
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

PaySimProvider::Counters PaySimProvider::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

void PaySimProvider::close(const std::string& id) { enqueue({false, id, 0, ""}); }
void PaySimProvider::refund(const std::string& id, int64_t amount_fen) { enqueue({true, id, amount_fen, id}); }
void PaySimProvider::refund_correction(const std::string& correction_id, const std::string& order_id, int64_t amount_fen) {
    enqueue({true, correction_id, amount_fen, order_id});
}

std::string PaySimProvider::pending_key(const Job& job) { return (job.is_refund ? "refund:" : "close:") + job.id; }

void PaySimProvider::enqueue(Job job) {
    {
        std::lock_guard lock(mu_);
        if (!stopping_ && pending_.contains(pending_key(job))) {
            ++counters_.coalesced;  // its earlier ask is still queued or being sent
            return;
        }
        if (!stopping_ && queue_.size() < address_.max_queue) {
            pending_.insert(pending_key(job));
            queue_.push_back(std::move(job));
            cv_.notify_one();
            return;
        }
        ++counters_.dropped;
    }
    // No sink here: this runs on the caller's thread, which may hold the very lock the
    // sinks take (the Confirmer calls close() and refund() under its owner's lock).
    log::warn("payments.request_dropped", {{"request", job.is_refund ? "refund" : "close"},
                                           {"queue", address_.max_queue}});
}

void PaySimProvider::run() {
    name_this_thread("pay-provider");
    std::unique_lock lock(mu_);
    while (true) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        Job job = std::move(queue_.front());
        queue_.pop_front();
        ++counters_.sent;
        lock.unlock();
        send(job);  // its answer is with the sinks when this returns
        lock.lock();
        pending_.erase(pending_key(job));
    }
}

void PaySimProvider::send(const Job& job) {
    auto fail = [&](const Error& e) {
        {
            std::lock_guard lock(mu_);
            ++counters_.failed;
        }
        log::warn("payments.request_failed",
                  {{"request", job.is_refund ? "refund" : "close"}, {"error", e.describe()}});
        if (sinks_.failed) sinks_.failed(job.id, e);
    };
    auto answered = [&] {
        std::lock_guard lock(mu_);
        ++counters_.answered;
    };
    if (!is_trade_no(job.id) || (job.is_refund && !is_trade_no(job.order_id)))
        return fail(make_error(ErrorClass::BadInput, "payments.bad_id", "the transaction id is not an out_trade_no"));
    if (!job.is_refund) {
        auto reply = exchange("POST", "/v3/pay/transactions/out-trade-no/" + job.id + "/close", nullptr, kMaxAnswerBytes);
        if (!reply) return fail(reply.error());
        if (reply->status == 204 || reply->status == 200) {
            answered();
            if (sinks_.close_answer) sinks_.close_answer(job.id, ledger::CloseOutcome::Closed);
            return;
        }
        auto e = provider_error(reply->status, reply->body);
        if (reply->status == 409 && e.code == "ORDERPAID") {
            answered();
            if (sinks_.close_answer) sinks_.close_answer(job.id, ledger::CloseOutcome::AlreadyPaid);
            return;
        }
        return fail(e);
    }
    // One full refund per transaction: out_refund_no is the transaction id (a correction's
    // own id for a refund after POSTED, of the order it corrects), so a retry is the same
    // refund at the provider, never a second one.
    std::string body = nlohmann::json{{"out_trade_no", job.order_id},
                                      {"out_refund_no", job.id},
                                      {"amount", {{"refund", job.amount_fen}, {"currency", "CNY"}}}}
                           .dump();
    auto reply = exchange("POST", "/v3/refund/domestic/refunds", &body, kMaxAnswerBytes);
    if (!reply) return fail(reply.error());
    if (reply->status == 200) {
        answered();
        if (sinks_.refund_answer) sinks_.refund_answer(job.id, true);
        return;
    }
    auto e = provider_error(reply->status, reply->body);
    if (reply->status >= 400 && reply->status < 500) {
        answered();
        if (sinks_.refund_answer) sinks_.refund_answer(job.id, false);
    }
    fail(e);
}

Result<PaySimProvider::Reply> PaySimProvider::exchange(const std::string& method, const std::string& path,
                                                        const std::string* body, std::size_t max_answer_bytes) {
    Reply reply;
    try {
        Poco::Net::HTTPClientSession session(address_.host, address_.port);
        session.setTimeout(Poco::Timespan(address_.timeout.count() * 1000));
        Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        req.set("Accept", "application/json");
        if (body) {
            req.setContentType("application/json");
            req.setContentLength(static_cast<std::streamsize>(body->size()));
            session.sendRequest(req) << *body;
        } else {
            req.setContentLength(0);
            session.sendRequest(req);
        }
        Poco::Net::HTTPResponse res;
        auto& in = session.receiveResponse(res);
        reply.status = static_cast<int>(res.getStatus());
        if (!read_bounded(in, reply.body, max_answer_bytes))
            return protocol("more than " + std::to_string(max_answer_bytes) + " bytes");
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "payments.unreachable",
                          "the payment provider at " + address_.host + ":" + std::to_string(address_.port) + ": " +
                              e.displayText());
    } catch (const std::exception& e) {
        return make_error(ErrorClass::Unavailable, "payments.unreachable", std::string("the payment provider: ") + e.what());
    }
    return reply;
}

Result<std::string> PaySimProvider::create_order(const OrderRequest& order) {
    if (!is_trade_no(order.out_trade_no))
        return make_error(ErrorClass::BadInput, "payments.bad_out_trade_no", "out_trade_no: expected 1-64 of A-Z a-z 0-9 _ -");
    if (auto ok = check_amount(order.amount_fen, "amount"); !ok) return ok.error();
    if (order.currency != "CNY")
        return make_error(ErrorClass::BadInput, "payments.bad_currency", "currency: expected CNY");
    if (order.description.empty() || order.description.size() > kMaxDescriptionBytes)
        return make_error(ErrorClass::BadInput, "payments.bad_description",
                          "description: expected 1-" + std::to_string(kMaxDescriptionBytes) + " bytes");
    if (auto ok = check_notify_url(order.notify_url); !ok) return ok.error();
    std::string body = nlohmann::json{{"out_trade_no", order.out_trade_no},
                                      {"description", order.description},
                                      {"notify_url", order.notify_url},
                                      {"amount", {{"total", order.amount_fen}, {"currency", order.currency}}}}
                           .dump();
    auto reply = exchange("POST", "/v3/pay/transactions/native", &body, kMaxAnswerBytes);
    if (!reply) return reply.error();
    if (reply->status != 200) return provider_error(reply->status, reply->body);
    auto doc = parse_bounded_json(reply->body, {"the provider's order answer", kMaxAnswerBytes, "payments"});
    if (!doc) return doc.error();
    if (!doc->is_object() || !doc->contains("prepay_id") || !(*doc)["prepay_id"].is_string() ||
        (*doc)["prepay_id"].get_ref<const std::string&>().empty() || (*doc)["prepay_id"].get_ref<const std::string&>().size() > 64)
        return protocol("prepay_id: expected a string of 1-64 bytes");
    return (*doc)["prepay_id"].get<std::string>();
}

Result<std::vector<ledger::ProviderLine>> PaySimProvider::bill(const std::string& date) {
    const bool dated = date.size() == 10 && date[4] == '-' && date[7] == '-' &&
                       date.find_first_not_of("0123456789-") == std::string::npos;
    if (!dated) return make_error(ErrorClass::BadInput, "payments.bad_date", "date: expected YYYY-MM-DD");
    const BillLimits limits;
    auto reply = exchange("GET", "/v3/bill?date=" + date, nullptr, limits.max_bytes);
    if (!reply) return reply.error();
    if (reply->status != 200) return provider_error(reply->status, reply->body);
    return parse_bill_csv(reply->body, limits);
}

Result<OrderStatus> PaySimProvider::query(const std::string& out_trade_no) {
    if (!is_trade_no(out_trade_no))
        return make_error(ErrorClass::BadInput, "payments.bad_out_trade_no", "out_trade_no: expected 1-64 of A-Z a-z 0-9 _ -");
    auto reply = exchange("GET", "/v3/pay/transactions/out-trade-no/" + out_trade_no, nullptr, kMaxAnswerBytes);
    if (!reply) return reply.error();
    if (reply->status != 200) return provider_error(reply->status, reply->body);
    auto doc = parse_bounded_json(reply->body, {"the provider's query answer", kMaxAnswerBytes, "payments"});
    if (!doc) return doc.error();
    const auto& d = *doc;
    OrderStatus s;
    auto str = [&](const nlohmann::json& o, const char* name, std::string& out, bool required) {
        if (!o.is_object() || !o.contains(name)) return !required;
        if (!o[name].is_string() || o[name].get_ref<const std::string&>().size() > 64) return false;
        out = o[name].get<std::string>();
        return true;
    };
    if (!str(d, "out_trade_no", s.out_trade_no, true) || s.out_trade_no != out_trade_no)
        return protocol("out_trade_no: expected the one asked about");
    if (!str(d, "trade_state", s.trade_state, true)) return protocol("trade_state: expected a string");
    str(d, "transaction_id", s.transaction_id, false);
    str(d, "success_time", s.success_time, false);
    if (!d.contains("amount") || !d["amount"].is_object() || !d["amount"].contains("total") ||
        !d["amount"]["total"].is_number_integer())
        return protocol("amount.total: expected an integer");
    s.amount_fen = d["amount"]["total"].get<int64_t>();
    if (d["amount"].contains("refund") && d["amount"]["refund"].is_number_integer())
        s.refunded_fen = d["amount"]["refund"].get<int64_t>();
    return s;
}

}  // namespace hisgate::payments
