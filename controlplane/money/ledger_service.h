// The control plane's ledgers (docs/ledger.md): one ledger store and one Confirmer per
// business partition, the partition map that routes each patient to one of them, and the
// timer that drives the confirmers.
//
// Everything that touches a confirmer goes through this class and holds its lock: API
// requests (create, cancel, resolve), the evidence the ports bring back from their own
// threads (a reply, a probe answer, a provider's notification), and the timer. The ports'
// calls out (send a change, a probe, a refund) only enqueue, so none waits on the network
// under the lock.
//
// Invariants:
//  - A transaction lives in exactly one partition: the one its patient was routed to under
//    the map's epoch at its creation (kept in the transaction). Lookups by id ask every
//    partition and find it in at most one; finding it in two is an Internal error.
//  - Transaction ids are 32 hex digits from the kernel's CSPRNG (common/random_id.h),
//    made by the API, so a retry with the same Idempotency-Key reuses its id.
//  - The partitions held are those of the map's epoch last installed: a live split
//    (start_split; ledger::PartitionSplit, driven on its own thread, which holds this
//    class's lock only to install the new map) swaps the source for its targets at the
//    switch, and a rollback swaps them back. A change refused by a partition that moved
//    (ledger.partition_moved) is routed again once the new map is installed; evidence that
//    reached the source while the split switched is delivered again to the new owner
//    (answers may come twice: the confirmer ignores a repeat).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_map.h"
#include "controlplane/ledger/partition_split.h"
#include "controlplane/money/split_plan_store.h"

namespace hisgate::controlplane::money {

struct LedgerSettings {
    std::string dir;             // <dir>/ledger-<partition>.db, <dir>/partition-map.db
    std::string prefixes_file;   // the operator's phone prefix table; "" = the built-in sample
    ledger::ConfirmerOptions confirmer;
    std::chrono::milliseconds pay_window{std::chrono::minutes(15)};  // a patient pays within it
    std::map<std::string, std::string> hospital_province;  // "H001" → "44"
    std::string default_province = "44";                    // a hospital not listed
    std::chrono::milliseconds split_max_freeze{std::chrono::seconds(30)};  // a split's write freeze, at most
    // Tests only: called on the split's thread after each of its steps.
    std::function<void(const ledger::SplitProgress&)> split_on_step;
};

// What an operator asks of a live split: the source's provinces shared out to new
// partitions (every one of them, each to one target).
struct SplitRequest {
    std::string source;
    std::vector<std::pair<std::string, std::set<std::string>>> targets;  // name → provinces
    std::optional<std::chrono::milliseconds> max_freeze;                // else the setting
};

// The map in use and the newest split (live, or as last recorded).
struct PartitionsView {
    ledger::PartitionMap map;
    std::string split_state;      // "" (none), running, switched, aborted, rolled_back, done
    nlohmann::json split;         // SplitProgress::to_json(), or null
};

// A transaction and the partition that holds it.
struct Located {
    ledger::Transaction transaction;
    std::string partition;
};

class LedgerService {
public:
    // Opens (or creates) every partition's ledger of the current map and resumes its
    // confirmer. `his` and `provider` must outlive the service.
    static Result<std::unique_ptr<LedgerService>> open(LedgerSettings settings, Clock& clock, ledger::HisPort& his,
                                                       ledger::PaymentPort& provider);
    ~LedgerService();

    // The timer: runs each confirmer's due work when it is due. stop() before destruction.
    void start();
    void stop();

    // A new transaction: `intent` without partition fields; routed by `region` (the
    // patient's ID card or phone, else the hospital's province), stamped with the map's
    // epoch, stored and driven. A retry with the same id and fields answers the stored one.
    Result<Located> create(ledger::TransactionIntent intent, const ledger::PatientRegion& region);
    // A booking that requires prepayment and its payment (docs/ledger.md, "Prepaid
    // bookings"): routed once, so both live in one partition, and stored together, each
    // naming the other. Answers the booking; find(payment.id) reads the payment.
    Result<Located> create_prepaid(ledger::TransactionIntent booking, ledger::TransactionIntent payment,
                                   const ledger::PatientRegion& region);
    Result<Located> cancel(const std::string& id);
    // A correction of a POSTED transaction (docs/ledger.md, "Corrections after POSTED"): a
    // new transaction `correction_id` of `kind` (Refund of a payment, Cancel of a booking)
    // naming `original_id`, in the original's partition, driven to the HIS like any change.
    // The original never changes. A retry with the same correction id answers the stored
    // one; a second correction is refused (Rejected ledger.already_corrected, naming it).
    Result<Located> correct(const std::string& original_id, ledger::TxKind kind, const std::string& correction_id);
    // The corrections that name `id`, oldest first.
    Result<std::vector<Located>> corrections_of(const std::string& id);
    Result<Located> find(const std::string& id);
    Result<std::vector<ledger::Entry>> history(const std::string& id);
    // A patient's transactions across partitions, newest first, at most `limit`.
    Result<std::vector<Located>> of_patient(const std::string& patient_id, int limit);
    // Every partition's transactions in `state`, partition by partition, at most `limit`;
    // `manual_only`: IN_DOUBT ones the probes gave up on.
    Result<std::vector<Located>> in_state(ledger::TxState state, int limit, bool manual_only = false);
    // Every transaction created in [from_ms, to_ms), of one partition or ("") all of them.
    // BadInput "ledger.unknown_partition" for a partition this control plane does not hold.
    Result<std::vector<Located>> created_between(int64_t from_ms, int64_t to_ms, const std::string& partition);
    Result<Located> resolve(const std::string& id, bool committed, const std::string& evidence,
                            const std::string& operator_name);
    // The hospital's province for routing (settings; else the default).
    std::string hospital_province(const std::string& hospital_id) const;
    std::vector<std::string> partitions() const;

    // Live partition split (docs/ledger.md, "Live partition split"). start_split checks the
    // request against the current map (BadInput split.bad_plan, Rejected split.running or
    // split.target_exists: nothing changed), stores the plan, and runs the split on its own
    // thread; it answers the progress at once. rollback_split brings back the source of the
    // newest switched split (after a restart too) and answers the progress when done.
    Result<ledger::SplitProgress> start_split(const SplitRequest& request);
    Result<ledger::SplitProgress> rollback_split(const std::string& source);
    Result<PartitionsView> partitions_view();
    // Tests: waits for the split's thread to end.
    void wait_split();

    // The hospital's agent is back (the fleet registry saw its birth in a newer session):
    // the attempts its partitions' confirmers hold for it go now, not up to probe_cap later
    // (Confirmer::agent_back). From the registry's thread; answers how many were woken.
    size_t agent_back(const std::string& hospital_id);

    // Evidence, from the ports' threads.
    void on_payment_notification(const std::string& id, int64_t amount_fen);
    void on_close_answer(const std::string& id, ledger::CloseOutcome outcome);
    void on_refund_answer(const std::string& id, bool refunded);
    void on_change_reply(const std::string& id, bool committed, std::string_view refusal = {});
    void on_probe_answer(const std::string& id, ledger::HisStatus status);
    void on_revoke_answer(const std::string& id, ledger::RevokeOutcome outcome);

private:
    struct Partition {
        std::unique_ptr<ledger::LedgerStore> store;
        std::unique_ptr<ledger::Confirmer> confirmer;
    };
    LedgerService(LedgerSettings settings, Clock& clock, ledger::PhonePrefixTable prefixes,
                  std::unique_ptr<ledger::PartitionMapStore> maps);
    // The partition holding `id` (lock held); NotFound when none does.
    Result<std::string> partition_of(const std::string& id);
    template <typename Call>
    void with_confirmer_of(const std::string& id, Call call);
    // Delivers evidence to the owner of `id` (lock held); true when it reached a partition
    // whose split may have refused it (delivered again after the install).
    bool deliver(const std::string& id, const std::function<void(ledger::Confirmer&)>& call);
    void run_timers();
    Result<Partition> open_partition(const std::string& name);
    // Makes the partitions held those of the current map (lock held): drops those it no
    // longer names, opens and resumes the new ones, delivers the evidence held back.
    Result<void> install_current_map();
    // Waits (lock held) until the map's current epoch is installed, a bounded while.
    Result<void> wait_installed(std::unique_lock<std::mutex>& lock, int64_t epoch);
    // `payment`: a prepaid booking's (intent is the booking), created with it.
    Result<Located> create_once(ledger::TransactionIntent intent, const ledger::PatientRegion& region,
                                std::optional<ledger::TransactionIntent> payment = std::nullopt);
    ledger::SplitOptions split_options();
    void run_split(std::shared_ptr<ledger::PartitionSplit> split, int64_t plan_id);
    void finish_split(int64_t plan_id, const std::string& state, const ledger::SplitProgress& progress);
    std::string ledger_path(const std::string& partition) const;

    LedgerSettings settings_;
    Clock& clock_;
    ledger::PhonePrefixTable prefixes_;
    std::unique_ptr<ledger::PartitionMapStore> maps_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::map<std::string, Partition> partitions_;
    int64_t installed_epoch_ = 0;
    std::condition_variable installed_;
    // Evidence that reached a split's source while it switched, delivered again after the
    // install (lock held).
    std::set<std::string> switching_;      // the partitions a split or rollback may fence
    std::atomic<bool> switching_frozen_{false};  // ... and it has frozen them (set on its thread: no lock)
    std::vector<std::function<void()>> held_evidence_;
    bool stopping_ = false;
    std::thread timer_;

    // The split's side: split_mu_ orders operators' calls (never taken under mu_).
    std::mutex split_mu_;
    std::mutex plans_mu_;  // the plan store's connection: the split's thread and the operators'
    std::optional<SplitPlanStore> plans_;
    std::unique_ptr<ledger::PartitionMapStore> split_maps_;  // the split's own connection to the map
    std::shared_ptr<ledger::PartitionSplit> split_;          // the newest split of this process
    std::thread split_thread_;
    std::atomic<bool> split_running_{false};
    ledger::HisPort* his_ = nullptr;
    ledger::PaymentPort* provider_ = nullptr;
};

}  // namespace hisgate::controlplane::money
