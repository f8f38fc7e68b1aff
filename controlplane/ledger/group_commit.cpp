#include "controlplane/ledger/group_commit.h"

#include <future>

namespace hisgate::ledger {

GroupCommitter::GroupCommitter(LedgerStore& store, Clock& clock, GroupCommitOptions options)
    : store_(store), clock_(clock), options_(options), writer_([this] { write_loop(); }) {}

GroupCommitter::~GroupCommitter() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    writer_.join();
}

void GroupCommitter::submit(Command command, Done done) {
    {
        std::lock_guard lock(mu_);
        pending_.push_back(Pending{std::move(command), std::move(done)});
    }
    cv_.notify_one();
}

Result<Transaction> GroupCommitter::submit_sync(Command command) {
    std::promise<Result<Transaction>> answered;
    auto answer = answered.get_future();
    submit(std::move(command), [&answered](Result<Transaction> r) { answered.set_value(std::move(r)); });
    return answer.get();
}

uint64_t GroupCommitter::commits() const {
    std::lock_guard lock(mu_);
    return commits_;
}

uint64_t GroupCommitter::commands() const {
    std::lock_guard lock(mu_);
    return commands_;
}

void GroupCommitter::write_loop() {
    std::vector<Pending> batch;
    std::vector<Command> commands;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return;  // stopping, and everything submitted is applied
            size_t take = options_.enabled ? std::min(options_.max_batch, pending_.size()) : 1;
            batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + take));
            pending_.erase(pending_.begin(), pending_.begin() + take);
        }
        commands.clear();
        for (auto& p : batch) commands.push_back(std::move(p.command));
        auto outcomes = store_.apply(commands, clock_.wall_ms());
        {
            std::lock_guard lock(mu_);
            if (outcomes) ++commits_;
            commands_ += batch.size();
        }
        for (size_t i = 0; i < batch.size(); ++i) {
            if (!batch[i].done) continue;
            if (outcomes) batch[i].done(std::move(outcomes.value()[i]));
            else batch[i].done(outcomes.error());
        }
        batch.clear();
    }
}

}  // namespace hisgate::ledger
