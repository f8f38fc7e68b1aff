#include "common/log.h"
#include "common/metrics.h"
#include "controlplane/alerts/sequence_book.h"

namespace hisgate::controlplane::alerts {

namespace {
void count(const char* outcome) {
    metrics::global()
        .counter("hisgate_controlplane_sequence_events_total", "Change-set events the sequence book took, by outcome",
                 {{"outcome", outcome}})
        .inc();
}
}  // namespace

void take_changeset_event(SequenceBook& book, const events::AgentEvent& e) {
    const auto* env = &e.envelope;
    const auto* hospital = &e.hospital_id;
    auto seq = env->body.is_object() ? env->body.find("seq") : env->body.end();
    if (seq == env->body.end() || !seq->is_number_integer() || seq->get<int64_t>() < 1 ||
        seq->get<int64_t>() > (int64_t{1} << 53)) {
        count("rejected");
        log::warn("alerts.changeset_rejected", {{"hospital_id", *hospital}, {"reason", "no readable seq"}});
        return;
    }
    if (auto r = book.arrived(*hospital, seq->get<int64_t>()); !r) {
        count("rejected");
        log::warn("alerts.changeset_not_stored", {{"hospital_id", *hospital}, {"error", r.error().describe()}});
        return;
    }
    count("taken");
}

}  // namespace hisgate::controlplane::alerts
