// Agents' answers kept in groups (issue 13, control-plane throughput). Each answer writes
// its task's row (the answer), the booking's note and, when new, the patient's link; with
// one connection and one commit per store and per answer, a routed booking cost the
// control plane ~90 file syscalls (docs/benchmarks.md, "What is left is SQLite's
// syscalls"). Here the three stores share one connection (common/sql_shared.h, opened on
// the results_db by main), and the answers the workers (controlplane/answer_workers.h)
// take at the same time are written as one BEGIN ... COMMIT by the shared group commit
// (common/group_commit.h, as the ledger's commands are).
//
// Invariants:
//  - An answer is durable before the caller waiting for it is woken: each worker waits for
//    the commit holding its answer (submit_sync) before answer_kept hands it to the
//    requester, and the group wakes TaskResults' waiters only after the COMMIT.
//  - Each answer's writes are what take_answer writes for it alone (keep_answer), each
//    all or nothing; a batch the store refused as a whole keeps none of them, and every
//    answer of it is logged as not kept and still handed to its caller (as take_answer does
//    when the answer cannot be kept).
//  - A booking's confirmation is queued (`booked`) only after its note is committed.
//  - At most as many answers wait for a commit as there are workers: the workers' bounded
//    queue still holds the MQTT thread back on a flood.
//
// The stores stay behind their interfaces; only the wiring knows they share a connection.
// A PostgreSQL set of stores would share one session the same way.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/group_commit.h"
#include "common/sql_shared.h"
#include "controlplane/answer_intake.h"

namespace hisgate::controlplane {

class AnswerCommitter {
public:
    struct Stores {
        std::shared_ptr<sql::SharedDb> shared;  // the connection the three below were opened on
        TaskResults& results;
        PatientRecords& records;
        PatientLinks* links = nullptr;
    };
    // `booked`: told of each booking noted, after its commit (the notifier's confirmation).
    AnswerCommitter(Stores stores, Requester& requester, std::string instance_id, triage::ErrorIntake* triage,
                    std::function<void(const BookingNote&)> booked, GroupCommitOptions options = {});

    // As take_answer: the answer's writes go in the next group; returns once it is committed
    // and the answer handed on.
    void take(const IncomingMessage& m);

    uint64_t commits() const { return group_.commits(); }
    uint64_t answers() const { return group_.items(); }

private:
    Result<std::vector<Result<AnswerKept>>> write(std::vector<const AnswerIn*>& batch);

    Stores stores_;
    Requester& requester_;
    std::string instance_id_;
    triage::ErrorIntake* triage_;
    std::function<void(const BookingNote&)> booked_;
    GroupCommit<const AnswerIn*, Result<AnswerKept>> group_;  // last: its writer uses the above
};

}  // namespace hisgate::controlplane
