#include "controlplane/router.h"

#include "common/log.h"
#include "common/metrics.h"
#include "transport/topics.h"

namespace hisgate::controlplane {

Asked Router::ask(const std::string& hospital_id, const std::string& type, nlohmann::json body) {
    auto hospital = registry_.find(hospital_id);
    if (!hospital)
        return {"", make_error(ErrorClass::NotFound, "hospital.unknown", "no hospital with id " + hospital_id)};
    if (!hospital->online)
        return {"", make_error(ErrorClass::Unavailable, "hospital.offline",
                               "the agent of hospital " + hospital_id + " is offline")};
    // What the agent serves, as its birth message advertised it.
    const nlohmann::json* served = nullptr;
    if (auto caps = hospital->birth.find("capabilities"); caps != hospital->birth.end() && caps->is_array())
        for (const auto& c : *caps)
            if (c.is_object() && c.value("type", "") == type) served = &c;
    if (!served)
        return {"", make_error(ErrorClass::BadInput, "request.unsupported",
                               "the agent of hospital " + hospital_id + " does not serve " + type + " requests")};
    const bool deferred = served->value("class", "") == "deferred";
    auto request = Envelope::make(type, hospital_id, std::move(body));
    // Deferred work is re-sent until the agent says it stored it (TaskResults::due_resends).
    request.ack_stored = deferred;
    if (auto kept = results_.expect(request, deferred); !kept) return {"", kept.error(), deferred};
    log::info("router.request_sent", {{"hospital_id", hospital_id}, {"type", type}, {"request_id", request.id}});
    // The reply comes back inside the hospital's own subtree, so agents never publish outside it.
    auto& in_flight = metrics::global().gauge("hisgate_controlplane_in_flight_requests", "Requests awaiting an agent");
    in_flight.add(1);
    auto reply = requester_.request(topics::request(hospital_id), topics::response(hospital_id, instance_id_), request,
                                    timeout_);
    in_flight.add(-1);
    if (!reply) {
        log::warn("router.no_reply", {{"hospital_id", hospital_id}, {"error", reply.error().describe()}});
        if (reply.error().cls != ErrorClass::Timeout) {
            // The request never left this instance (requester.h): no agent will answer it.
            // It ends here, answered with the error, and no task id is handed out to poll.
            Envelope failure = request.reply_error(reply.error());
            auto ended = results_.record(hospital_id, failure, failure.to_json());
            if (!ended) log::error("router.result_not_stored", {{"request_id", request.id}, {"error", ended.error().describe()}});
            return {"", reply.error(), deferred};
        }
        return {request.id, reply.error(), deferred};
    }
    log::info("router.reply_received", {{"hospital_id", hospital_id},
                                        {"request_id", request.id},
                                        {"outcome", reply->error ? reply->error->code : "ok"}});
    if (reply->error) return {request.id, *reply->error, deferred};
    return {request.id, std::move(reply->body), deferred};
}

}  // namespace hisgate::controlplane
