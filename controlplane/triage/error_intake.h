// What feeds the error book (controlplane/triage/error_book.h): the errors the control plane
// sees, each turned into a record of codes and ids with the tags of where it happened.
//
//   answers   an agent's answer carrying an error (controlplane/answer_intake.cpp): the
//             request's hospital and type
//   router    the control plane could not get a request answered (controlplane/router.cpp:
//             hospital offline, agent timeout, the broker refusing the publish): the
//             request's hospital and type. A caller's own mistake is not booked: NotFound
//             (no such hospital), BadInput and Rejected from the router (a type the agent
//             does not serve, an order id reused): the caller hears of it, no team fixes it
//   events    an agent's probe.result event, once it passed the event intake
//             (controlplane/events/event_intake.h: bounded, its hospital checked, never a
//             repeat): a failed probe (outcome "failed", its error's class and code; the
//             path probed). A failed probe without a code or a path is logged and counted
//             (hisgate_triage_events_rejected_total), never booked.
//
// Tags come from the hospital's birth in the registry: version, adapter (its dialect),
// region when the birth names one; a tag that is absent or out of bounds is left empty.
// No error's message is kept, only class and code.
#pragma once

#include <string>

#include "common/error.h"
#include "controlplane/events/agent_event.h"
#include "controlplane/hospital_registry.h"
#include "controlplane/triage/error_book.h"

namespace hisgate::controlplane::triage {

class ErrorIntake {
public:
    ErrorIntake(ErrorBook& book, const HospitalRegistry& registry) : book_(book), registry_(registry) {}

    // `traceparent`: the answer's (its MQTT user property), or empty.
    void answer_error(const std::string& hospital_id, const std::string& type, const Error& e,
                      const std::string& traceparent);
    // `trace_id`: the HTTP request's.
    void router_failure(const std::string& hospital_id, const std::string& type, const Error& e,
                        const std::string& trace_id);
    // A probe.result event.
    void probe_event(const events::AgentEvent& e);

private:
    void book(ErrorRecord r);
    ErrorTags tags_of(const std::string& hospital_id, const std::string& path) const;

    ErrorBook& book_;
    const HospitalRegistry& registry_;
};

}  // namespace hisgate::controlplane::triage
