#include "pay-sim/api.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/bounded_json.h"
#include "common/config.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/query_params.h"
#include "common/random_id.h"
#include "common/utc_time.h"
#include "controlplane/payments/bill.h"
#include "controlplane/payments/notification.h"
#include "controlplane/payments/order_fields.h"

namespace hisgate::paysim {

namespace {

using Req = Poco::Net::HTTPServerRequest;
using Res = Poco::Net::HTTPServerResponse;

int status_of(const Error& e) {
    if (e.code == "http.body_too_large") return 413;
    switch (e.cls) {
    case ErrorClass::BadInput: return 400;
    case ErrorClass::NotFound: return 404;
    case ErrorClass::Rejected: return 409;
    case ErrorClass::Unavailable: return 503;
    default: return 500;
    }
}

void fail(Res& res, const Error& e) {
    if (status_of(e) == 413) res.setKeepAlive(false);  // the rest of the body is unread
    send_json(res, status_of(e), {{"code", e.code}, {"message", e.message}});
}

Error param(const std::string& message) { return make_error(ErrorClass::BadInput, "PARAM_ERROR", message); }

// The body as a JSON object, within kMaxBodyBytes and kMaxJsonDepth.
Result<nlohmann::json> read_object(Req& req, const std::string& what) {
    auto body = read_body(req, kMaxBodyBytes, what);
    if (!body) return body.error();
    auto doc = parse_bounded_json(body.value(), {what, kMaxBodyBytes, "PARAM_ERROR"});
    if (!doc) return doc.error();
    if (!doc->is_object()) return param(what + " is not a JSON object");
    return doc;
}

// A required string of 1..max bytes at `o[name]`; `where` names it in errors.
Result<std::string> text(const nlohmann::json& o, const char* name, const std::string& where, std::size_t max) {
    if (!o.contains(name)) return param(where + " is missing; expected a string of 1-" + std::to_string(max) + " bytes");
    if (!o[name].is_string()) return param(where + " is " + describe_json_type(o[name]) + "; expected a string");
    auto s = o[name].get<std::string>();
    if (s.empty() || s.size() > max)
        return param(where + " is " + std::to_string(s.size()) + " bytes; expected 1-" + std::to_string(max));
    return s;
}

Result<std::string> trade_no(const nlohmann::json& o, const char* name) {
    auto s = text(o, name, name, payments::kMaxTradeNoBytes);
    if (!s) return s;
    if (!payments::is_trade_no(s.value())) return param(std::string(name) + ": expected 1-64 of A-Z a-z 0-9 _ -");
    return s;
}

// An amount in fen at `o[name]`: a JSON integer from 1 to the cap (12.5, "1250", -1 refused).
Result<int64_t> amount(const nlohmann::json& o, const char* name, const std::string& where) {
    if (!o.contains(name)) return param(where + " is missing; expected an integer number of fen");
    if (!o[name].is_number_integer())
        return param(where + " is " + describe_json_type(o[name]) + "; expected an integer number of fen");
    int64_t fen = o[name].is_number_unsigned() && o[name].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                      ? INT64_MAX
                      : o[name].get<int64_t>();
    if (auto ok = payments::check_amount(fen, where); !ok) return param(ok.error().message);
    return fen;
}

Result<void> currency(const nlohmann::json& amount_obj, const std::string& where) {
    if (!amount_obj.contains("currency")) return {};  // CNY, the only one
    if (!amount_obj["currency"].is_string() || amount_obj["currency"] != "CNY")
        return param(where + " is " + amount_obj["currency"].dump().substr(0, 16) + "; expected \"CNY\"");
    return {};
}

nlohmann::json order_json(const Order& o, const std::string& trade_state) {
    nlohmann::json j = {{"out_trade_no", o.fields.out_trade_no},
                        {"trade_state", trade_state},
                        {"amount", {{"total", o.fields.amount_fen}, {"currency", o.fields.currency}}}};
    if (trade_state == "SUCCESS" || trade_state == "REFUND") {
        j["transaction_id"] = o.transaction_id;
        j["success_time"] = iso_utc_ms(o.paid_ms);
        j["amount"]["payer_total"] = o.fields.amount_fen;
        j["amount"]["refund"] = o.refunded_fen;
    }
    return j;
}

// The path's last part after `prefix`, when it is one segment.
std::optional<std::string> segment_after(const std::string& path, const std::string& prefix, const std::string& suffix = "") {
    if (path.size() <= prefix.size() + suffix.size() || path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    if (!suffix.empty() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) return std::nullopt;
    std::string s = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    if (s.find('/') != std::string::npos) return std::nullopt;
    return s;
}

}  // namespace

void ProviderApi::handle(Req& req, Res& res) {
    const std::string& uri = req.getURI();
    auto q = uri.find('?');
    std::string path = uri.substr(0, q);
    std::string raw_query = q == std::string::npos ? "" : uri.substr(q + 1);
    const std::string& m = req.getMethod();
    if (path == "/v3/pay/transactions/native" && m == "POST") return create(req, res);
    if (path == "/v3/refund/domestic/refunds" && m == "POST") return refund(req, res);
    if (path == "/v3/bill" && m == "GET") return bill(raw_query, res);
    if (auto no = segment_after(path, "/v3/pay/transactions/out-trade-no/", "/close"); no && m == "POST")
        return close(*no, req, res);
    if (auto no = segment_after(path, "/v3/pay/transactions/out-trade-no/"); no && m == "GET") return query(*no, res);
    if (auto id = segment_after(path, "/v3/checkout/"); id && m == "POST") return checkout(*id, res);
    if (serve_metrics(req, res)) return;
    fail(res, make_error(ErrorClass::NotFound, "NOT_FOUND",
                         m + " " + path.substr(0, 128) +
                             " is not a route; expected POST /v3/pay/transactions/native, GET or POST .../out-trade-no/{no}[/close], "
                             "POST /v3/refund/domestic/refunds, POST /v3/checkout/{prepay_id}, GET /v3/bill?date="));
}

void ProviderApi::create(Req& req, Res& res) {
    auto doc = read_object(req, "the order body");
    if (!doc) return fail(res, doc.error());
    const auto& d = doc.value();
    NewOrder o;
    auto no = trade_no(d, "out_trade_no");
    if (!no) return fail(res, no.error());
    o.out_trade_no = no.value();
    auto desc = text(d, "description", "description", payments::kMaxDescriptionBytes);
    if (!desc) return fail(res, desc.error());
    o.description = desc.value();
    auto url = text(d, "notify_url", "notify_url", payments::kMaxNotifyUrlBytes);
    if (!url) return fail(res, url.error());
    if (auto ok = payments::check_notify_url(url.value()); !ok) return fail(res, param(ok.error().message));
    o.notify_url = url.value();
    if (!d.contains("amount") || !d["amount"].is_object()) return fail(res, param("amount: expected an object {\"total\", \"currency\"}"));
    auto total = amount(d["amount"], "total", "amount.total");
    if (!total) return fail(res, total.error());
    o.amount_fen = total.value();
    if (auto ok = currency(d["amount"], "amount.currency"); !ok) return fail(res, ok.error());
    auto created = store_.create(o, now_ms());
    if (!created) return fail(res, created.error());
    log::info("paysim.order_created", {{"out_trade_no", o.out_trade_no}, {"amount_fen", o.amount_fen}});
    send_json(res, 200, {{"prepay_id", created->prepay_id}, {"checkout_path", "/v3/checkout/" + created->prepay_id}});
}

void ProviderApi::query(const std::string& no, Res& res) {
    if (!payments::is_trade_no(no)) return fail(res, param("out_trade_no in the path: expected 1-64 of A-Z a-z 0-9 _ -"));
    auto o = store_.get(no);
    if (!o) return fail(res, o.error());
    std::string state = o->trade_state;
    if (state == "SUCCESS" && faults_.take(FaultKind::QueryNotPayOnce, no)) {
        log::info("paysim.fault", {{"kind", "query_notpay_once"}, {"out_trade_no", no}});
        state = "NOTPAY";
    }
    send_json(res, 200, order_json(o.value(), state));
}

void ProviderApi::close(const std::string& no, Req& req, Res& res) {
    if (!payments::is_trade_no(no)) return fail(res, param("out_trade_no in the path: expected 1-64 of A-Z a-z 0-9 _ -"));
    // WeChat's close carries a small body (the merchant id); pay-sim reads and ignores it.
    if (req.hasContentLength() || req.getChunkedTransferEncoding())
        if (auto body = read_body(req, kMaxBodyBytes, "the close body"); !body) return fail(res, body.error());
    auto o = store_.get(no);
    if (!o) return fail(res, o.error());
    if (o->trade_state == "NOTPAY" && faults_.take(FaultKind::ClosePaidInGap, no)) {
        // The patient pays just before the close arrives: the close must then fail.
        log::info("paysim.fault", {{"kind", "close_paid_in_gap"}, {"out_trade_no", no}});
        auto paid = store_.pay_order(no, now_ms());
        if (!paid) return fail(res, paid.error());
        if (paid->newly_paid) notify(paid->order);
    }
    auto closed = store_.close(no, now_ms());
    if (!closed) return fail(res, closed.error());
    log::info("paysim.order_closed", {{"out_trade_no", no}});
    res.setStatus(Poco::Net::HTTPResponse::HTTP_NO_CONTENT);
    res.setContentLength(0);
    res.send();
}

void ProviderApi::refund(Req& req, Res& res) {
    auto doc = read_object(req, "the refund body");
    if (!doc) return fail(res, doc.error());
    const auto& d = doc.value();
    auto no = trade_no(d, "out_trade_no");
    if (!no) return fail(res, no.error());
    auto refund_no = trade_no(d, "out_refund_no");
    if (!refund_no) return fail(res, refund_no.error());
    if (d.contains("reason")) {
        if (auto r = text(d, "reason", "reason", kMaxReasonBytes); !r) return fail(res, r.error());
    }
    if (!d.contains("amount") || !d["amount"].is_object())
        return fail(res, param("amount: expected an object {\"refund\", \"total\", \"currency\"}"));
    auto fen = amount(d["amount"], "refund", "amount.refund");
    if (!fen) return fail(res, fen.error());
    if (auto ok = currency(d["amount"], "amount.currency"); !ok) return fail(res, ok.error());
    std::optional<int64_t> total;
    if (d["amount"].contains("total")) {
        auto t = amount(d["amount"], "total", "amount.total");
        if (!t) return fail(res, t.error());
        total = t.value();
    }
    auto order = store_.get(no.value());
    if (!order) return fail(res, order.error());
    if (total && *total != order->fields.amount_fen)
        return fail(res, param("amount.total is " + std::to_string(*total) + "; expected the order's amount, " +
                               std::to_string(order->fields.amount_fen) + " fen"));
    if (faults_.take(FaultKind::RefundFail, no.value())) {
        log::info("paysim.fault", {{"kind", "refund_fail"}, {"out_trade_no", no.value()}});
        return fail(res, make_error(ErrorClass::Unavailable, "SYSTEM_ERROR",
                                    "the refund failed at the provider (a fault); nothing was refunded, retry with the same out_refund_no"));
    }
    auto r = store_.refund(no.value(), refund_no.value(), fen.value(), now_ms());
    if (!r) return fail(res, r.error());
    log::info("paysim.refunded", {{"out_trade_no", r->out_trade_no}, {"amount_fen", r->amount_fen}});
    send_json(res, 200,
              {{"refund_id", r->refund_id},
               {"out_refund_no", r->out_refund_no},
               {"out_trade_no", r->out_trade_no},
               {"status", "SUCCESS"},
               {"success_time", iso_utc_ms(r->at_ms)},
               {"amount", {{"refund", r->amount_fen}, {"total", order->fields.amount_fen}, {"currency", "CNY"}}}});
}

void ProviderApi::checkout(const std::string& prepay_id, Res& res) {
    if (prepay_id.empty() || prepay_id.size() > 64 || !payments::is_trade_no(prepay_id))
        return fail(res, param("prepay_id in the path: expected 1-64 of A-Z a-z 0-9 _ -"));
    auto paid = store_.pay_prepay(prepay_id, now_ms());
    if (!paid) return fail(res, paid.error());
    if (paid->newly_paid) {
        log::info("paysim.paid", {{"out_trade_no", paid->order.fields.out_trade_no}});
        notify(paid->order);
    }
    send_json(res, 200, order_json(paid->order, paid->order.trade_state));
}

void ProviderApi::bill(const std::string& raw_query, Res& res) {
    auto q = read_query(raw_query, "PARAM_ERROR", 256, {"date"});
    if (!q) return fail(res, q.error());
    auto it = q->find("date");
    if (it == q->end()) return fail(res, param("date is missing; expected ?date=YYYY-MM-DD"));
    const std::string& s = it->second;
    unsigned y = 0, mo = 0, da = 0;
    bool shaped = s.size() == 10 && s[4] == '-' && s[7] == '-' &&
                  std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-'; });
    if (shaped) {
        y = static_cast<unsigned>(std::stoi(s.substr(0, 4)));
        mo = static_cast<unsigned>(std::stoi(s.substr(5, 2)));
        da = static_cast<unsigned>(std::stoi(s.substr(8, 2)));
    }
    std::chrono::year_month_day day{std::chrono::year(static_cast<int>(y)), std::chrono::month(mo), std::chrono::day(da)};
    if (!shaped || !day.ok()) return fail(res, param("date is \"" + s.substr(0, 32) + "\"; expected a real day, YYYY-MM-DD"));
    int64_t from = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::sys_days(day).time_since_epoch()).count();
    auto lines = store_.bill(from, from + 86'400'000);
    if (!lines) return fail(res, lines.error());
    send_text(res, 200, "text/csv; charset=utf-8", payments::bill_csv(lines.value()));
}

void ProviderApi::notify(const Order& paid) {
    const std::string& no = paid.fields.out_trade_no;
    if (faults_.take(FaultKind::NotifyLost, no)) {
        log::info("paysim.fault", {{"kind", "notify_lost"}, {"out_trade_no", no}});
        notifier_.count_lost();
        return;
    }
    payments::PaymentNotification n;
    n.event_id = random_hex(16);
    n.out_trade_no = no;
    n.transaction_id = paid.transaction_id;
    n.trade_state = "SUCCESS";
    n.amount_fen = paid.fields.amount_fen;
    n.currency = paid.fields.currency;
    n.success_time = iso_utc_ms(paid.paid_ms);
    Notification out{no, paid.fields.notify_url, payments::notification_body(n, iso_utc_ms(now_ms()))};
    std::chrono::milliseconds delay{0};
    if (auto late = faults_.take(FaultKind::NotifyLate, no)) {
        log::info("paysim.fault", {{"kind", "notify_late"}, {"out_trade_no", no}, {"delay_ms", late->delay_ms}});
        delay = std::chrono::milliseconds(late->delay_ms);
    }
    if (faults_.take(FaultKind::NotifyDuplicate, no)) {
        log::info("paysim.fault", {{"kind", "notify_duplicate"}, {"out_trade_no", no}});
        notifier_.post(out, delay);
    }
    notifier_.post(std::move(out), delay);
}

void serve_control(FaultBook& faults, Notifier& notifier, Req& req, Res& res) {
    if (serve_metrics(req, res)) return;
    const std::string& m = req.getMethod();
    if (req.getURI() == "/stats" && m == "GET") return send_json(res, 200, {{"notifications", notifier.stats_json()}});
    if (req.getURI() != "/faults")
        return fail(res, make_error(ErrorClass::NotFound, "NOT_FOUND",
                                    "the control API serves /faults (GET, POST, DELETE) and /stats (GET)"));
    if (m == "DELETE") {
        faults.clear();
        log::info("paysim.faults_cleared");
    } else if (m == "POST" || m == "PUT") {
        auto body = read_body(req, kMaxControlBodyBytes, "a faults body");
        if (!body) return fail(res, body.error());
        auto doc = parse_bounded_json(body.value(), {"a faults body", kMaxControlBodyBytes, "faults"});
        if (!doc) return fail(res, doc.error());
        std::vector<Fault> parsed;
        const auto list = doc->is_array() ? doc.value() : nlohmann::json::array({doc.value()});
        if (list.size() > 1000) return fail(res, make_error(ErrorClass::BadInput, "faults.bad_fault", "at most 1000 faults at once"));
        for (size_t i = 0; i < list.size(); ++i) {
            auto f = fault_from_json(list[i], "fault " + std::to_string(i));
            if (!f) return fail(res, f.error());
            parsed.push_back(f.value());
        }
        for (auto& f : parsed) {
            log::info("paysim.fault_armed", {{"fault", to_json(f)}});
            faults.add(std::move(f));
        }
    } else if (m != "GET") {
        return fail(res, make_error(ErrorClass::BadInput, "METHOD_NOT_ALLOWED", "/faults takes GET, POST or DELETE"));
    }
    send_json(res, 200, {{"faults", faults.to_json()}});
}

}  // namespace hisgate::paysim
