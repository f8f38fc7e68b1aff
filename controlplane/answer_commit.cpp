#include "controlplane/answer_commit.h"

#include "common/metrics.h"

namespace hisgate::controlplane {

AnswerCommitter::AnswerCommitter(Stores stores, Requester& requester, std::string instance_id,
                                 triage::ErrorIntake* triage, std::function<void(const BookingNote&)> booked,
                                 GroupCommitOptions options)
    : stores_(std::move(stores)),
      requester_(requester),
      instance_id_(std::move(instance_id)),
      triage_(triage),
      booked_(std::move(booked)),
      group_([this](std::vector<const AnswerIn*>& batch) { return write(batch); }, options) {}

void AnswerCommitter::take(const IncomingMessage& m) {
    auto answer = read_answer(stores_.results, requester_, m, instance_id_);
    if (!answer) return;
    auto kept = group_.submit_sync(&*answer);
    if (kept && kept->booking && kept->noted && booked_) booked_(*kept->booking);
    answer_kept(*answer, kept, requester_, triage_);
}

Result<std::vector<Result<AnswerKept>>> AnswerCommitter::write(std::vector<const AnswerIn*>& batch) {
    static auto& commits = metrics::global().counter("hisgate_controlplane_answer_commits_total",
                                                     "Transactions that kept agents' answers (one per group)");
    static auto& grouped = metrics::global().counter("hisgate_controlplane_answers_grouped_total",
                                                     "Agents' answers written in those transactions");
    std::vector<Result<AnswerKept>> out;
    out.reserve(batch.size());
    {
        auto& db = stores_.shared->db();
        auto committed = stores_.shared->transaction([&]() -> Result<void> {
            for (const AnswerIn* a : batch) {
                AnswerKept kept = keep_answer(stores_.results, stores_.records, stores_.links, *a);
                // A statement failing with SQLITE_FULL or SQLITE_IOERR ends the whole transaction:
                // what followed would run in autocommit, apart from the batch.
                if (!db.in_transaction())
                    return !kept.recorded ? kept.recorded.error()
                           : !kept.noted  ? kept.noted.error()
                           : !kept.linked ? kept.linked.error()
                                          : make_error(ErrorClass::Internal, "answers.transaction_ended",
                                                       "the store ended the answers' transaction");
                out.push_back(std::move(kept));
            }
            return {};
        });
        if (!committed) return committed.error();
    }
    commits.inc();
    grouped.inc(static_cast<double>(batch.size()));
    // Durable now, and the connection is free: whoever waits for one of these may look.
    stores_.results.wake_waiters();
    return out;
}

}  // namespace hisgate::controlplane
