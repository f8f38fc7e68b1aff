// Group commit for a ledger store: many callers' commands share one SQLite transaction,
// so one fsync makes a whole batch durable instead of one fsync per command.
//
// The batching is the shared helper's (common/group_commit.h): callers submit() from any
// thread, one writer thread takes whatever has accumulated (at most max_batch commands, in
// submission order), applies it as one LedgerStore::apply() and then answers each caller
// with its own command's outcome. With `enabled` false each command is its own
// transaction (what the benchmark compares against).
//
// Invariants:
//  - A caller is answered only after the transaction holding its command has committed,
//    and the store commits durably (synchronous=FULL), so an answered command survives a
//    crash or a kill -9.
//  - Commands apply in submission order; a refused command does not affect its batch's
//    others; a batch the disk refused answers every one of its callers with that error.
//  - The destructor applies everything already submitted before it returns.
#pragma once

#include <cstdint>

#include "common/clock.h"
#include "common/group_commit.h"
#include "controlplane/ledger/ledger_store.h"

namespace hisgate::ledger {

using GroupCommitOptions = hisgate::GroupCommitOptions;

class GroupCommitter : public GroupCommit<Command, Result<Transaction>> {
public:
    GroupCommitter(LedgerStore& store, Clock& clock, GroupCommitOptions options = {})
        : GroupCommit([&store, &clock](std::vector<Command>& commands) { return store.apply(commands, clock.wall_ms()); },
                      options) {}

    uint64_t commands() const { return items(); }  // commands applied so far
};

}  // namespace hisgate::ledger
