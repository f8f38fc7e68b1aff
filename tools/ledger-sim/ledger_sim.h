// The seeded fault simulation of the ledger (TigerBeetle's VOPR idea; docs/ledger.md,
// "Simulation"): the real ledger stores (real SQLite files in a temporary directory) and
// the real Confirmer, driven by a simulated clock and network, with simulated agents and
// HIS (their own records of committed orders) and a simulated payment provider.
//
// Everything that varies comes from one PRNG seeded by the seed: arrivals, latencies,
// faults, transaction ids. The run has no thread and never reads the wall clock, so a seed
// replays exactly: `hisgate-sim ledger --seed N --transactions K`.
//
// One transaction in ten is a booking (no provider; the HIS alone says whether it stands).
// One arrival in twenty is a prepaid pair (create_prepaid: a booking and the payment it
// binds): the booking stands exactly when its payment stands, checked at the end.
//
// Faults: requests to the agent lost or late; replies lost, duplicated, reordered (random
// latency) and late; HIS commits whose answer is lost; provider notifications lost,
// duplicated or late; refunds failing; control-plane crashes (the stores are closed and
// reopened from their files, the confirmers rebuilt by resume()); agent restarts.
//
// Invariants, checked at the end (and the cheap ones as they happen): no patient charged
// twice; no refund of a payment the HIS committed; no change reaching the HIS twice;
// every transaction terminal, or IN_DOUBT with a probe scheduled or in the manual queue
// (checked after every restart and when arrivals end); each transaction in exactly one
// partition, the one its patient routes to; ledger = HIS = provider for every settled one.
//
// In the middle of the run `south` is split into `south-a` (44, 45) and `south-b` (its
// other provinces) by the real PartitionSplit, while traffic flows (SimOptions::split,
// `--split off` to leave it out); its steps are timed by the simulated clock and the seeded
// RNG. Each transaction is owned by exactly one partition (the one the current map routes
// its province to), checked after every step of the split and at the end; the source is
// fenced after the switch; the targets' confirmers carry on the IN_DOUBT transactions that
// moved (every one must still end terminal).
#pragma once

#include <cstdint>
#include <string>

namespace hisgate::ledger_sim {

struct SimOptions {
    uint64_t seed = 1;
    int transactions = 1000;
    bool broken_refund_on_timeout = false;    // tests only: forbidden policies, to be caught
    bool broken_refund_on_not_found = false;
    bool broken_refund_before_his = false;  // a refund after POSTED paid back when sent to the HIS
    bool broken_reask_new_attempt = false;  // a correction re-asked under a new request id
    bool broken_void_on_operator_word = false;  // an operator's "not done" settles with no revoke
    bool split = true;  // split `south` into `south-a`/`south-b` in the middle of the run
    // Corrections IN_DOUBT re-ask their change (same request id), and a prepaid pair's refund
    // that did not happen is asked again (ConfirmerOptions max_reasks,
    // max_prepaid_refund_rounds); off: neither (what they settle is then the operator's).
    bool reask = true;
    std::string work_dir;                    // default: a new directory under TMPDIR, removed after
};

struct SimReport {
    bool ok = true;
    std::string failure;  // the first invariant broken
    std::string summary;  // counters, one line each
    int64_t sim_ms = 0;   // simulated time the run covered
};

SimReport run_ledger_sim(const SimOptions& options);

}  // namespace hisgate::ledger_sim
