#include "common/log.h"
#include "common/metrics.h"
#include "controlplane/alerts/sequence_book.h"

namespace hisgate::controlplane::alerts {

namespace {
void count_sequence_report(const char* outcome) {
    metrics::global()
        .counter("hisgate_controlplane_sequence_events_total", "Change-set events the sequence book took, by outcome",
                 {{"outcome", outcome}})
        .inc();
}
}  // namespace

void take_changeset_event(SequenceBook& book, const events::AgentEvent& e) {
    const auto& body = e.envelope.body;  // an object: Envelope::parse refuses any other
    auto seq = body.find("seq");
    if (seq == body.end() || !seq->is_number_integer() || seq->get<int64_t>() < 1 ||
        seq->get<int64_t>() > (int64_t{1} << 53)) {
        count_sequence_report("rejected");
        log::warn("alerts.changeset_rejected", {{"hospital_id", e.hospital_id}, {"reason", "no readable seq"}});
        return;
    }
    if (auto r = book.arrived(e.hospital_id, seq->get<int64_t>()); !r) {
        count_sequence_report("rejected");
        log::warn("alerts.changeset_not_stored", {{"hospital_id", e.hospital_id}, {"error", r.error().describe()}});
        return;
    }
    count_sequence_report("taken");
}

}  // namespace hisgate::controlplane::alerts
