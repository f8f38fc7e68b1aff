// The HL7 v2 over MLLP adapter. Messages, as the dialect's parameters shape them:
//   report            QRY^R02 -> ORF^R04 (OBR + OBX)
//   patient's reports QRY^R02 (patient, no report id) -> ORF^R04 (one OBR per report)
//   reference data    QBP^ZRD -> RSP^ZRD (ZDP departments, ZDR doctors, ZSL slots)
//   book / cancel     SRM^S01 / SRM^S04 -> SRR^S01 / SRR^S04 (SCH)
//   booking status    QBP^ZBS -> RSP^ZBS (QAK-2 OK with SCH + PID, or NF: no such order)
//   pay / refund      DFT^P03 (FT1, kind PY / RF) -> ACK (+ ZPY)
//   payment status    QBP^ZPS -> RSP^ZPS (QAK, ZPY)
//   daily statement   QBP^ZST -> RSP^ZST (FT1 per line)
// The Z messages and segments are the vendor extensions such HIS interfaces use.
#pragma once

#include <memory>

#include "adapters/his_adapter.h"
#include "adapters/hl7v2/hl7_dialect.h"
#include "mllp/client.h"

namespace hisgate {

// `sessions`: how many MLLP sessions may be open to the HIS at once (his.hl7.sessions).
std::unique_ptr<HisAdapter> make_hl7v2_adapter(mllp::ClientOptions mllp, hl7v2::Hl7Dialect dialect, int sessions = 1);

}  // namespace hisgate
