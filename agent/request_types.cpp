#include "agent/request_types.h"

#include <array>
#include <chrono>

#include "agent/booking_request.h"
#include "agent/reference_requests.h"
#include "agent/release_install.h"
#include "common/log.h"

namespace hisgate::agent {

namespace {

Result<std::string> text_field(const nlohmann::json& body, const char* name, std::string_view type) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        return make_error(ErrorClass::BadInput, "request.invalid",
                          std::string(type) + " needs body." + name + ", a non-empty string");
    return it->get<std::string>();
}

Result<int64_t> whole_field(const nlohmann::json& body, const char* name, std::string_view type) {
    auto it = body.find(name);
    if (it == body.end() || !it->is_number_integer() || it->get<int64_t>() <= 0)
        return make_error(ErrorClass::BadInput, "request.invalid",
                          std::string(type) + " needs body." + name + ", a whole number above 0");
    return it->get<int64_t>();
}

nlohmann::json booking_json(const Booking& b) {
    return {{"orderId", b.order_id}, {"slotId", b.slot_id}, {"patientId", b.patient_id}, {"status", b.status}};
}
nlohmann::json payment_json(const Payment& p) {
    return {{"orderId", p.order_id}, {"amountCents", p.amount_cents}, {"status", p.status}};
}
nlohmann::json reports_json(const std::vector<ReportSummary>& list) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : list)
        out.push_back({{"reportId", r.report_id}, {"title", r.title}, {"status", r.status}, {"issuedAt", r.issued_at}});
    return {{"reports", out}};
}
nlohmann::json statement_json(const std::vector<StatementLine>& lines) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : lines) out.push_back({{"orderId", l.order_id}, {"kind", l.kind}, {"amountCents", l.amount_cents}});
    return {{"lines", out}};
}

template <typename T, typename F>
Result<nlohmann::json> as_json(Result<T> r, F&& to_json) {
    if (!r) return r.error();
    return to_json(r.value());
}
// A read or a cancel: one thing named by one text field of the body, one adapter call.
template <const char* kField, auto kCall, auto kToJson>
Result<nlohmann::json> keyed(const RequestContext& c, const nlohmann::json& body) {
    auto key = text_field(body, kField, c.type);
    if (!key) return key.error();
    return as_json((c.his.*kCall)(*key), kToJson);
}

nlohmann::json report_json(const Report& r) { return r.to_json(); }

constexpr char kReportId[] = "reportId", kPatientId[] = "patientId", kDate[] = "date", kOrderId[] = "orderId";

// An earlier attempt that may have reached the HIS is settled first: its booking stands
// whatever the rules say now (a time rule may have passed its boundary since). The
// appointment rules judge the first attempt only; only a booking they allow reaches the HIS.
Result<nlohmann::json> book(const RequestContext& c, const nlohmann::json& body) {
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(c.clock.wall_now());
    auto ask = read_booking_ask(body, now);
    if (!ask) return ask.error();
    if (c.maybe_done && !c.his_idempotent) {
        auto held = c.his.booking_status(ask->order.order_id);
        if (!held) return held.error();  // cannot know yet: never send blind
        if (held->status != "not_found") {
            log::info("agent.in_doubt_resolved", {{"order_id", ask->order.order_id}, {"his_status", held->status}});
            return booking_json(held.value());
        }
        if (auto wait = c.absence_not_yet_settled()) return *wait;
    }
    if (!c.maybe_done) {
        if (auto refusal = c.rules.check_booking(ask->request, ask->counts)) {
            log::info("agent.booking_refused", {{"rule", refusal->rule}, {"code", refusal->code}});
            return make_error(ErrorClass::Rejected, "appointment." + refusal->code, refusal->message_for_patient);
        }
    }
    if (auto refused = c.sending_order(ask->order.order_id)) {
        // An earlier attempt of this task may have got in before the revoke: the HIS's
        // record is then its answer (the revoke answered already_committed).
        if (c.maybe_done)
            if (auto held = c.his.booking_status(ask->order.order_id); held && held->status == "booked")
                return booking_json(held.value());
        return *refused;
    }
    return as_json(c.his.book(ask->order), booking_json);
}

template <bool kRefund>
Result<nlohmann::json> pay(const RequestContext& c, const nlohmann::json& body) {
    auto order = text_field(body, "orderId", c.type);
    if (!order) return order.error();
    auto amount = whole_field(body, "amountCents", c.type);
    if (!amount) return amount.error();
    auto method = text_field(body, "method", c.type);
    if (!method) return method.error();
    if (c.maybe_done && !c.his_idempotent) {
        auto held = c.his.payment_status(*order);
        if (!held) return held.error();
        if (held->status == (kRefund ? "refunded" : "paid") || (!kRefund && held->status == "refunded")) {
            log::info("agent.in_doubt_resolved", {{"order_id", *order}, {"his_status", held->status}});
            return payment_json(held.value());
        }
        if (auto wait = c.absence_not_yet_settled()) return *wait;
    }
    PaymentOrder p{*order, *amount, *method};
    if constexpr (kRefund) {
        // An earlier attempt that got in before the revoke was answered above, from the
        // HIS's record (refunded).
        if (auto refused = c.sending_change()) return *refused;
    } else if (auto refused = c.sending_order(*order)) {
        if (c.maybe_done)  // as for a booking: an earlier attempt may have got in first
            if (auto held = c.his.payment_status(*order); held && held->status == "paid") return payment_json(held.value());
        return *refused;
    }
    return as_json(kRefund ? c.his.refund(p) : c.his.pay(p), payment_json);
}

// A cancel, like a refund, undoes what the HIS committed; it is fenced by its request id
// (revoked on an operator's "not done", appointment.cancel_revoke). A retried one
// (an earlier attempt of this task may have reached the HIS) asks the HIS first, whatever
// the dialect: already cancelled → that attempt did it, answered from the HIS's record and
// never sent again (a non-idempotent HIS would cancel twice, or refuse the second and
// turn a done cancel into a refusal); otherwise it waits out the processing horizon.
Result<nlohmann::json> cancel(const RequestContext& c, const nlohmann::json& body) {
    auto order = text_field(body, kOrderId, c.type);
    if (!order) return order.error();
    if (c.maybe_done && !c.his_idempotent) {
        auto held = c.his.booking_status(*order);
        if (!held) return held.error();  // cannot know yet: never send blind
        if (held->status == "cancelled") {
            log::info("agent.in_doubt_resolved", {{"order_id", *order}, {"his_status", held->status}});
            return booking_json(held.value());
        }
        if (auto wait = c.absence_not_yet_settled()) return *wait;
    }
    if (auto refused = c.sending_change()) return *refused;
    return as_json(c.his.cancel(*order), booking_json);
}

// The HIS's status of an order: its booking's (appointment.*) or its payment's.
template <bool kBooking>
Result<std::string> order_status(const RequestContext& c, const std::string& order) {
    if constexpr (kBooking) {
        auto held = c.his.booking_status(order);
        if (!held) return held.error();
        return held->status;
    } else {
        auto held = c.his.payment_status(order);
        if (!held) return held.error();
        return held->status;
    }
}

// Revoke (docs/ledger.md, "The agent's revoke fence"): the fence is durable first, so no
// change for the order reaches the HIS after this; once none can still be running there,
// the HIS's own records say whether one got in before: committed (paid or refunded; booked)
// answers "already_committed", anything that holds nothing (not found; a cancelled
// booking) answers "revoked". A status this code does not know is no answer (Protocol).
template <bool kBooking>
Result<nlohmann::json> revoke(const RequestContext& c, const nlohmann::json& body) {
    auto order = text_field(body, "orderId", c.type);
    if (!order) return order.error();
    if (auto wait = c.revoking(*order)) return *wait;
    auto held = order_status<kBooking>(c, *order);
    if (!held) return held.error();
    const std::string& status = *held;
    bool committed = kBooking ? status == "booked" : status == "paid" || status == "refunded";
    bool holds_nothing = status == "not_found" || (kBooking && status == "cancelled");
    if (!committed && !holds_nothing)
        return make_error(ErrorClass::Protocol, "his.unexpected_status",
                          "the HIS answered status \"" + status + "\" for the order; expected " +
                              (kBooking ? "booked, cancelled or not_found" : "paid, refunded or not_found"));
    log::info("agent.order_revoked", {{"order_id", *order}, {"his_status", status}, {"committed", committed}});
    return nlohmann::json{{"orderId", *order}, {"outcome", committed ? "already_committed" : "revoked"}, {"status", status}};
}

// The revoke of a refund or cancel (an operator found it not done; docs/ledger.md): the
// request id `changeId` is fenced first, so that request never reaches the HIS after this
// (a refund queued here while the HIS was down, a late copy); once none of it can still be
// running there, the original order's record says whether it got in before: refunded /
// cancelled answers "already_committed", still paid / booked "revoked". (One order has at
// most one live correction: the ledger's earlier rounds were refused by the HIS or fenced.)
template <bool kCancel>
Result<nlohmann::json> revoke_correction(const RequestContext& c, const nlohmann::json& body) {
    auto order = text_field(body, kOrderId, c.type);
    if (!order) return order.error();
    auto change = text_field(body, "changeId", c.type);
    if (!change) return change.error();
    if (auto wait = c.revoking(fence_key_of_request(*change))) return *wait;
    auto held = order_status<kCancel>(c, *order);
    if (!held) return held.error();
    const std::string& status = *held;
    const std::string_view done = kCancel ? "cancelled" : "refunded", standing = kCancel ? "booked" : "paid";
    if (status != done && status != standing)
        return make_error(ErrorClass::Protocol, "his.unexpected_status",
                          "the HIS answered status \"" + status + "\" for the order; expected " + std::string(done) + " or " +
                              std::string(standing));
    const bool committed = status == done;
    log::info("agent.change_revoked", {{"task_id", *change}, {"his_status", status}, {"committed", committed}});
    return nlohmann::json{{"orderId", *order}, {"changeId", *change}, {"outcome", committed ? "already_committed" : "revoked"},
                          {"status", status}};
}

Result<nlohmann::json> logs_get(const RequestContext& c, const nlohmann::json& body) {
    return trace_lines_of(c.diagnostics, body);
}
Result<nlohmann::json> doctor_run(const RequestContext& c, const nlohmann::json&) {
    return run_doctor(c.diagnostics, c.clock);
}
Result<nlohmann::json> params_get(const RequestContext& c, const nlohmann::json&) {
    return parameter_file_of(c.diagnostics);
}
Result<nlohmann::json> install_release(const RequestContext& c, const nlohmann::json& body) {
    return hand_to_updater(c.diagnostics.updater_spool, c.task_id, body, c.clock);
}
Result<nlohmann::json> changesets_get(const RequestContext& c, const nlohmann::json& body) {
    return reference_changesets(c.reference, body);
}
Result<nlohmann::json> snapshot_get(const RequestContext& c, const nlohmann::json& body) {
    return reference_snapshot(c.reference, body);
}

template <Result<nlohmann::json> (ConfigApplier::*kCall)(const nlohmann::json&)>
Result<nlohmann::json> config_call(const RequestContext& c, const nlohmann::json& body) {
    if (!c.config) return make_error(ErrorClass::Config, "config.unavailable", "this agent takes no pushed configuration");
    return (c.config->*kCall)(body);
}
Result<nlohmann::json> config_history(const RequestContext& c, const nlohmann::json&) {
    if (!c.config) return make_error(ErrorClass::Config, "config.unavailable", "this agent takes no pushed configuration");
    return c.config->history();
}

using RT = TaskClass;
constexpr std::array<RequestType, 22> kRequestTypes{{
    {"appointment.book", RT::RealTime, true, book, FencedBy::Order},
    {"appointment.cancel", RT::RealTime, true, cancel, FencedBy::Request},
    {"appointment.status", RT::RealTime, false, keyed<kOrderId, &HisAdapter::booking_status, booking_json>},
    {"appointment.revoke", RT::RealTime, true, revoke<true>},
    {"appointment.cancel_revoke", RT::RealTime, true, revoke_correction<true>},
    {"payment.pay", RT::RealTime, true, pay<false>, FencedBy::Order},
    {"payment.refund", RT::RealTime, true, pay<true>, FencedBy::Request},
    {"payment.status", RT::RealTime, false, keyed<kOrderId, &HisAdapter::payment_status, payment_json>},
    {"payment.revoke", RT::RealTime, true, revoke<false>},
    {"payment.refund_revoke", RT::RealTime, true, revoke_correction<false>},
    {"report.get", RT::Deferred, false, keyed<kReportId, &HisAdapter::get_report, report_json>},
    {"report.list", RT::Deferred, false, keyed<kPatientId, &HisAdapter::list_reports, reports_json>},
    {"statement.daily", RT::Deferred, false, keyed<kDate, &HisAdapter::daily_statement, statement_json>},
    // The agent itself, for an operator behind the hospital's firewall (agent/diagnostics.h).
    {"logs.get", RT::RealTime, false, logs_get},
    {"doctor.run", RT::RealTime, false, doctor_run},
    // A rollout's parameter gate (docs/rollouts.md).
    {"params.get", RT::RealTime, false, params_get},
    // The public partition catching up with this hospital's reference data, from the
    // agent's state file, never the HIS (agent/reference_requests.h).
    {"reference.changesets", RT::RealTime, false, changesets_get},
    {"reference.snapshot", RT::RealTime, false, snapshot_get},
    // An upgrade for hisgate-updater, the program beside the agent (docs/updater.md): the
    // answer says the request was handed over, not that the version is running; the
    // control plane learns that from the new birth.
    {"release.install", RT::RealTime, false, install_release},
    // Remote configuration (agent/config_apply.h): the agent's own parameters, never the HIS.
    {"config.apply", RT::RealTime, false, config_call<&ConfigApplier::apply>},
    {"config.flags", RT::RealTime, false, config_call<&ConfigApplier::set_flags>},
    {"config.history", RT::RealTime, false, config_history},
}};

}  // namespace

std::span<const RequestType> request_types() { return kRequestTypes; }

std::string fence_key_of_request(std::string_view request_id) { return "request:" + std::string(request_id); }

const RequestType* find_request_type(std::string_view name) {
    for (const auto& t : kRequestTypes)
        if (t.name == name) return &t;
    return nullptr;
}

nlohmann::json advertised_capabilities() {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : kRequestTypes)
        out.push_back({{"type", t.name}, {"class", to_string(t.cls)}, {"changesHis", t.changes_his}});
    return out;
}

}  // namespace hisgate::agent
