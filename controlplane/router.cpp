#include "controlplane/router.h"

#include "common/digest.h"
#include "common/log.h"
#include "common/metrics.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

std::string fingerprint_of(const nlohmann::json& body) {
    return sha256_hex(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void count_retry(const char* kind) {
    metrics::global()
        .counter("hisgate_controlplane_retries_total", "Requests sent again: Idempotency-Keys and request ids seen before",
                 {{"kind", kind}})
        .inc();
}

Asked Router::ask(const std::string& hospital_id, const std::string& type, nlohmann::json body,
                  const std::string& request_id, RequestOrigin origin) {
    auto hospital = registry_.find(hospital_id);
    if (!hospital)
        return {"", make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with id " + hospital_id)};
    if (!hospital->compatible) {
        // The version window (hospital_registry.h): the agent was told so when it came online.
        auto& window = registry_.window();
        log::error("router.agent_incompatible",
                   {{"hospital_id", hospital_id}, {"type", type},
                    {"agent_protocol", "[" + std::to_string(hospital->protocol_min) + "," + std::to_string(hospital->protocol_max) + "]"},
                    {"controlplane_protocol", window.describe()}});
        metrics::global()
            .counter("hisgate_controlplane_refused_requests_total", "Requests refused before they were sent, by why",
                     {{"reason", "incompatible"}})
            .inc();
        return {"", failed(hospital_id, type, make_error(ErrorClass::Unavailable, "hospital.incompatible",
                               "the agent of hospital " + hospital_id + " speaks protocol versions [" +
                                   std::to_string(hospital->protocol_min) + "," + std::to_string(hospital->protocol_max) +
                                   "], outside this control plane's " + window.describe() +
                                   "; the hospital's agent must be upgraded"))};
    }
    // What the agent serves, as its birth message advertised it.
    const nlohmann::json* served = nullptr;
    if (auto caps = hospital->birth.find("capabilities"); caps != hospital->birth.end() && caps->is_array())
        for (const auto& c : *caps)
            if (c.is_object() && c.value("type", "") == type) served = &c;
    const bool deferred = served && served->value("class", "") == "deferred";
    if (!hospital->online && !deferred)
        return {"", failed(hospital_id, type, make_error(ErrorClass::Unavailable, "hospital.offline",
                                                         "the agent of hospital " + hospital_id + " is offline"))};
    if (!served)
        return {"", make_error(ErrorClass::BadInput, "request.unsupported",
                               "the agent of hospital " + hospital_id + " does not serve " + type + " requests")};
    // An answer that changed nothing at the HIS is kept only until it is delivered.
    const auto changes_his = served->find("changesHis");
    const TaskKind kind{deferred, changes_his != served->end() && changes_his->is_boolean() && !changes_his->get<bool>()};
    const auto timeout = timeouts_.of(type);
    auto request = Envelope::make(type, hospital_id, std::move(body));
    if (!request_id.empty()) request.id = request_id;
    // Deferred work is re-sent until the agent says it stored it (TaskResults::due_resends).
    request.ack_stored = deferred;
    if (origin.fingerprint.empty()) origin.fingerprint = fingerprint_of(request.body);
    auto fresh = results_.expect(request, kind, origin);
    if (!fresh) return {"", failed(hospital_id, type, fresh.error()), deferred};
    if (!*fresh) return rejoin(request, deferred, origin);
    if (!hospital->online) {
        // Accepted for when the agent is back: this copy waits in the broker for the agent's
        // session, and the re-sends carry it on after it expires.
        auto sent = requester_.send_again(topics::request(hospital_id), topics::response(hospital_id, instance_id_),
                                          request, timeout);
        log::info("router.request_accepted_offline",
                  {{"hospital_id", hospital_id}, {"type", type}, {"request_id", request.id}, {"sent", sent.ok()}});
        return {request.id,
                make_error(ErrorClass::Timeout, "agent.offline",
                           "the agent of hospital " + hospital_id + " is offline; the request goes to it when it is back"),
                true};
    }
    log::info("router.request_sent", {{"hospital_id", hospital_id}, {"type", type}, {"request_id", request.id}});
    // The reply comes back inside the hospital's own subtree, so agents never publish outside it.
    auto& in_flight = metrics::global().gauge("hisgate_controlplane_in_flight_requests", "Requests awaiting an agent");
    in_flight.add(1);
    auto reply = requester_.request(topics::request(hospital_id), topics::response(hospital_id, instance_id_), request,
                                    timeout);
    in_flight.add(-1);
    if (!reply) {
        log::warn("router.no_reply", {{"hospital_id", hospital_id}, {"error", reply.error().describe()}});
        if (reply.error().cls != ErrorClass::Timeout) {
            // The request never left this instance (requester.h): no agent will answer it.
            // It is forgotten, no task id is handed out to poll, and a retry with its id
            // (an order's, an Idempotency-Key's) sends it anew.
            if (auto gone = results_.forget(request.id); !gone)
                log::error("router.request_not_forgotten", {{"request_id", request.id}, {"error", gone.error().describe()}});
            return {"", failed(hospital_id, type, reply.error()), deferred};
        }
        // A deferred request unanswered in time is pending (202), not failed.
        return {request.id, deferred ? reply.error() : failed(hospital_id, type, reply.error()), deferred};
    }
    log::info("router.reply_received", {{"hospital_id", hospital_id},
                                        {"request_id", request.id},
                                        {"outcome", reply->error ? reply->error->code : "ok"}});
    if (reply->error) return {request.id, *reply->error, deferred};
    return {request.id, std::move(reply->body), deferred};
}

Asked Router::rejoin(const Envelope& request, bool deferred, const RequestOrigin& origin) {
    auto earlier = results_.find(request.id);
    // Forgotten meanwhile: its first copy never left (no task id: there is none to poll).
    const Asked not_sent{"", make_error(ErrorClass::Unavailable, "request.not_sent",
                                        "an earlier copy of this request could not be sent; send it again"), deferred};
    if (!earlier) return {"", failed(request.hospital_id, request.type, not_sent.answer.error()), deferred};
    std::string earlier_fingerprint = earlier->fingerprint;
    if (earlier_fingerprint.empty())  // kept before fingerprints were: the body it was sent with
        if (auto sent = Envelope::parse(earlier->request)) earlier_fingerprint = fingerprint_of(sent->body);
    const bool same = earlier->hospital_id == request.hospital_id && earlier->type == request.type &&
                      earlier_fingerprint == origin.fingerprint;
    count_retry(same ? "id_rejoined" : "id_reused");
    if (!same)
        return {"", make_error(ErrorClass::Rejected, "order.id_reused",
                               "this order id was used before for a different request; a new request needs a new order id"),
                deferred};
    log::info("router.request_rejoined",
              {{"hospital_id", request.hospital_id}, {"request_id", request.id}, {"answered", earlier->finished()}});
    if (!earlier->finished()) {
        // No answer yet. The first copy may never have reached the agent (it expires in the
        // broker): send it again, same id, and wait for the answer whichever copy brings it.
        const auto timeout = timeouts_.of(request.type);
        auto again = requester_.send_again(topics::request(request.hospital_id),
                                           topics::response(request.hospital_id, instance_id_), request, timeout);
        if (!again) log::warn("router.resend_failed", {{"request_id", request.id}, {"error", again.error().describe()}});
        earlier = results_.wait_finished(request.id, timeout);
        if (!earlier) return {"", failed(request.hospital_id, request.type, not_sent.answer.error()), deferred};
        if (!earlier->finished()) {
            auto late = make_error(ErrorClass::Timeout, "agent.timeout",
                                   "no reply from the hospital's agent within " + std::to_string(timeout.count()) + " ms");
            return {request.id, deferred ? late : failed(request.hospital_id, request.type, late), deferred};
        }
    }
    // Its answer, as the first caller had it; finished, so never "pending" (an expiry, an
    // agent's timeout error, is final).
    return {request.id, earlier->outcome(), false};
}

}  // namespace hisgate::controlplane
