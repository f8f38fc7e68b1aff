// The HL7 v2 over MLLP adapter. Messages, as the dialect's parameters shape them:
//   report            QRY^R02 -> ORF^R04 (OBR + OBX)
//   patient's reports QRY^R02 (patient, no report id) -> ORF^R04 (one OBR per report)
//   reference data    QBP^ZRD -> RSP^ZRD (ZDP departments, ZDR doctors, ZSL slots)
//   book / cancel     SRM^S01 / SRM^S04 -> SRR^S01 / SRR^S04 (SCH)
//   booking status    QBP^ZBS -> RSP^ZBS (QAK-2 OK with SCH + PID, or NF: no such order)
//   pay / refund      DFT^P03 (FT1, kind PY / RF) -> ACK (+ ZPY)
//   payment status    QBP^ZPS -> RSP^ZPS (QAK, ZPY)
//   daily statement   QBP^ZST -> RSP^ZST (FT1 per line)
//   clock             MSH-7 of the answer to QBP^ZPS for an order nobody has
//   pushes            MFN^M02 / MFN^M05 / SIU^S12-S17 from the HIS -> ACK (push_listener.h)
// The Z messages and segments are the vendor extensions such HIS interfaces use.
#pragma once

#include <memory>
#include <optional>

#include "adapters/his_adapter.h"
#include "adapters/hl7v2/hl7_dialect.h"
#include "adapters/hl7v2/push_listener.h"
#include "adapters/registry.h"
#include "mllp/client.h"

namespace hisgate {

// `sessions`: how many MLLP sessions may be open to the HIS at once (his.hl7.sessions).
// `push`: where to listen for the HIS's reference-data pushes (none: listen_for_pushes
// returns nullptr).
std::unique_ptr<HisAdapter> make_hl7v2_adapter(mllp::ClientOptions mllp, hl7v2::Hl7Dialect dialect, int sessions = 1,
                                               std::optional<hl7v2::PushSettings> push = std::nullopt);

// The one place hospital parameters become MLLP client options: his.endpoint (host:port),
// his.connect_timeout, his.answer_timeout, his.max_attempts, his.tls.*. Errors: Config
// naming the parameter.
Result<mllp::ClientOptions> mllp_options_from_params(const params::ParamSet& p);
// The adapter a hospital's parameters describe (the options above, the dialect,
// his.hl7.sessions, extraction.push.*).
Result<std::unique_ptr<HisAdapter>> make_hl7v2_adapter(const params::ParamSet& p);
// Registers it as "hl7v2-mllp".
Result<void> register_hl7v2_mllp(AdapterRegistry& registry);

}  // namespace hisgate
