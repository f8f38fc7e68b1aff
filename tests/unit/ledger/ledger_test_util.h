// Helpers shared by the ledger's tests.
#pragma once

#include <string>

#include "common/random_id.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_map.h"

namespace hisgate::ledger::test_util {

// A well-formed resident ID card of `province`, born 1990-01-01, sequence `seq`.
inline std::string id_card(const std::string& province, int seq = 123) {
    std::string first17 = province + "0102" + "19900101" + std::to_string(100 + seq % 900);
    return first17 + id_card_check_char(first17);
}

inline TransactionIntent intent(std::string id = new_id(), int64_t fen = 1250) {
    TransactionIntent in;
    in.id = std::move(id);
    in.kind = TxKind::Payment;
    in.hospital_id = "H001";
    in.patient_id = "P-000123";
    in.amount_fen = fen;
    in.purpose = "outpatient";
    in.epoch = 1;
    in.deadline_ms = 60'000;
    return in;
}

inline Move move(const std::string& id, TxState to, std::string evidence = "test:evidence") {
    Move m;
    m.id = id;
    m.to = to;
    m.evidence = std::move(evidence);
    return m;
}

}  // namespace hisgate::ledger::test_util
