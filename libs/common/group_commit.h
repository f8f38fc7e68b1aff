// Group commit: many callers' writes share one transaction, so one commit (and, where the
// store syncs, one fsync) makes a whole batch durable instead of one commit per write.
// The ledger's commands (controlplane/ledger/group_commit.h) and the control plane's
// agents' answers (controlplane/answer_commit.h) both go through it.
//
// Callers submit() from any thread. One writer thread takes whatever has accumulated (at
// most max_batch items, in submission order), hands it to `apply`, which writes it as one
// transaction, and then answers each caller with its own item's outcome. With `enabled`
// false each item is its own transaction (what the ledger's benchmark compares against).
//
// Invariants (apply keeps the first two; this keeps the rest):
//  - A caller is answered only after `apply` returned, that is after the transaction
//    holding its item has committed (or failed): what it is told is durable is.
//  - Items apply in submission order; a refused item does not affect its batch's others;
//    a batch `apply` failed as a whole answers every one of its callers with that error.
//  - The destructor applies everything already submitted before it returns.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.h"

namespace hisgate {

struct GroupCommitOptions {
    bool enabled = true;
    size_t max_batch = 4096;
};

// `Outcome` is what one item's caller is told; it must be constructible from an Error (a
// Result<T>), which is what every caller of a failed batch gets.
template <class Work, class Outcome>
class GroupCommit {
public:
    using Done = std::function<void(Outcome)>;
    // Writes `batch` as one transaction: one outcome per item, in order, or the error that
    // refused the whole batch (nothing of it written).
    using Apply = std::function<Result<std::vector<Outcome>>(std::vector<Work>& batch)>;

    explicit GroupCommit(Apply apply, GroupCommitOptions options = {})
        : apply_(std::move(apply)), options_(options), writer_([this] { write_loop(); }) {}
    ~GroupCommit() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        writer_.join();
    }
    GroupCommit(const GroupCommit&) = delete;
    GroupCommit& operator=(const GroupCommit&) = delete;

    // `done` runs on the writer thread after the commit; keep it short and never wait on
    // this committer from it.
    void submit(Work work, Done done) {
        {
            std::lock_guard lock(mu_);
            pending_.push_back(Pending{std::move(work), std::move(done)});
        }
        cv_.notify_one();
    }
    // Waits until the item is durable (or refused).
    Outcome submit_sync(Work work) {
        std::promise<Outcome> answered;
        auto answer = answered.get_future();
        submit(std::move(work), [&answered](Outcome r) { answered.set_value(std::move(r)); });
        return answer.get();
    }

    uint64_t commits() const {  // batches `apply` wrote so far
        std::lock_guard lock(mu_);
        return commits_;
    }
    uint64_t items() const {  // items applied so far (in committed batches or not)
        std::lock_guard lock(mu_);
        return items_;
    }

private:
    struct Pending {
        Work work;
        Done done;
    };

    void write_loop() {
        std::vector<Pending> batch;
        std::vector<Work> works;
        for (;;) {
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
                if (pending_.empty()) return;  // stopping, and everything submitted is applied
                size_t take = options_.enabled ? std::min(options_.max_batch, pending_.size()) : 1;
                batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + take));
                pending_.erase(pending_.begin(), pending_.begin() + take);
            }
            works.clear();
            for (auto& p : batch) works.push_back(std::move(p.work));
            auto outcomes = apply_(works);
            {
                std::lock_guard lock(mu_);
                if (outcomes) ++commits_;
                items_ += batch.size();
            }
            for (size_t i = 0; i < batch.size(); ++i) {
                if (!batch[i].done) continue;
                if (outcomes && i < outcomes->size()) batch[i].done(std::move(outcomes.value()[i]));
                else if (outcomes) batch[i].done(Outcome(make_error(ErrorClass::Internal, "group_commit.no_outcome",
                                                                    "the batch's writer gave no outcome for this item")));
                else batch[i].done(Outcome(outcomes.error()));
            }
            batch.clear();
        }
    }

    Apply apply_;
    GroupCommitOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Pending> pending_;
    bool stopping_ = false;
    uint64_t commits_ = 0, items_ = 0;
    std::thread writer_;  // last: started once everything it uses is made
};

}  // namespace hisgate
