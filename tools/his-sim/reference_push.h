// his-sim as a HIS with a reference-data interface: every change its staff make through the
// control API (reference_control.h) is also pushed to the hospital's agent, as a HIS's
// interface engine does, so the platform sees it within seconds instead of at the next pull:
//   a doctor put       MFN^M02, MFE-1 MUP (STF + PRA)     a doctor deleted  MFN^M02, MFE-1 MDL
//   a slot put         SIU^S12 (SCH + RGS + AIL + AIP + ZSL)   a slot deleted  SIU^S17
// over MLLP to the listener the hospital's parameters name (extraction.push.listen), with
// each field where extraction.hl7.fields puts it and in the HIS's charset: the agent reads
// it with the same parameters. A push goes out once and its ACK is returned. When the agent
// is away or refuses it, the change is still committed here and reaches the platform at the
// next pull (a real interface engine's retry queue is not simulated).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "adapters/his_adapter.h"
#include "adapters/hl7v2/hl7_dialect.h"
#include "adapters/hl7v2/push_fields.h"
#include "common/error.h"
#include "config-params/param_set.h"
#include "mllp/client.h"

namespace hisgate::sim {

// The agent's answer to one push: MSA-1 (AA, AE, AR) and MSA-3 (why, when not AA).
struct PushAck {
    std::string code;
    std::string text;
};

class ReferencePusher {
public:
    // nullptr when the parameters name no push listener, or the HIS does not speak HL7 v2
    // (the agent listens for MFN/SIU only beside its HL7 adapter), or the listener wants TLS
    // (his-sim holds no client certificate for it): such changes arrive at the next pull.
    // Errors: the parameters' own (Config "params.invalid").
    static Result<std::unique_ptr<ReferencePusher>> from_params(const params::ParamSet& p);

    // Each sends one message and returns the agent's ACK. Errors: the MLLP client's
    // (mllp::Client::send: the agent unreachable, no answer in time) and Protocol
    // "push.bad_ack" for an answer that is not an ACK.
    Result<PushAck> doctor_put(const Doctor& d);
    Result<PushAck> doctor_deleted(const std::string& doctor_id);
    Result<PushAck> slot_put(const ScheduleSlot& s);
    Result<PushAck> slot_deleted(const std::string& slot_id);

    ReferencePusher(hl7v2::Hl7Dialect dialect, hl7v2::PushFields fields, mllp::ClientOptions to);

private:
    Result<hl7::Message> message(const std::string& type);
    Result<PushAck> send(const Result<hl7::Message>& m);

    hl7v2::Hl7Dialect dialect_;
    hl7v2::PushFields fields_;
    std::mutex mutex_;  // the control API serves requests concurrently; one push at a time
    mllp::Client client_;
};

}  // namespace hisgate::sim
