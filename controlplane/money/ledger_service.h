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
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_map.h"

namespace hisgate::controlplane::money {

struct LedgerSettings {
    std::string dir;             // <dir>/ledger-<partition>.db, <dir>/partition-map.db
    std::string prefixes_file;   // the operator's phone prefix table; "" = the built-in sample
    ledger::ConfirmerOptions confirmer;
    std::chrono::milliseconds pay_window{std::chrono::minutes(15)};  // a patient pays within it
    std::map<std::string, std::string> hospital_province;  // "H001" → "44"
    std::string default_province = "44";                    // a hospital not listed
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
    Result<Located> cancel(const std::string& id);
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

    // Evidence, from the ports' threads.
    void on_payment_notification(const std::string& id, int64_t amount_fen);
    void on_close_answer(const std::string& id, ledger::CloseOutcome outcome);
    void on_refund_answer(const std::string& id, bool refunded);
    void on_change_reply(const std::string& id, bool committed);
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
    void run_timers();

    LedgerSettings settings_;
    Clock& clock_;
    ledger::PhonePrefixTable prefixes_;
    std::unique_ptr<ledger::PartitionMapStore> maps_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::map<std::string, Partition> partitions_;
    bool stopping_ = false;
    std::thread timer_;
};

}  // namespace hisgate::controlplane::money
