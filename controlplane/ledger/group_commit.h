// Group commit for a ledger store: many callers' commands share one SQLite transaction,
// so one fsync makes a whole batch durable instead of one fsync per command.
//
// Callers submit() from any thread. One writer thread takes whatever has accumulated
// (at most max_batch commands, in submission order), applies it as one LedgerStore::apply()
// and then answers each caller with its own command's outcome. With `enabled` false each
// command is its own transaction (what the benchmark compares against).
//
// Invariants:
//  - A caller is answered only after the transaction holding its command has committed,
//    and the store commits durably (synchronous=FULL), so an answered command survives a
//    crash or a kill -9.
//  - Commands apply in submission order; a refused command does not affect its batch's
//    others; a batch the disk refused answers every one of its callers with that error.
//  - The destructor applies everything already submitted before it returns.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "controlplane/ledger/ledger_store.h"

namespace hisgate::ledger {

struct GroupCommitOptions {
    bool enabled = true;
    size_t max_batch = 4096;
};

class GroupCommitter {
public:
    using Done = std::function<void(Result<Transaction>)>;

    GroupCommitter(LedgerStore& store, Clock& clock, GroupCommitOptions options = {});
    ~GroupCommitter();
    GroupCommitter(const GroupCommitter&) = delete;
    GroupCommitter& operator=(const GroupCommitter&) = delete;

    // `done` runs on the writer thread after the commit; keep it short and never wait on
    // this committer from it.
    void submit(Command command, Done done);
    // Waits until the command is durable (or refused).
    Result<Transaction> submit_sync(Command command);

    uint64_t commits() const;   // transactions committed so far
    uint64_t commands() const;  // commands applied so far

private:
    struct Pending {
        Command command;
        Done done;
    };
    void write_loop();

    LedgerStore& store_;
    Clock& clock_;
    GroupCommitOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Pending> pending_;
    bool stopping_ = false;
    uint64_t commits_ = 0, commands_ = 0;
    std::thread writer_;
};

}  // namespace hisgate::ledger
