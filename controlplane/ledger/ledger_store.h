// One business partition's ledger (docs/ledger.md): what the platform knows about each
// payment and booking, and the only place their states change.
//
// A transaction has one id from its creation to its end: the hospital's order number,
// sent unchanged with every dispatch and every status probe. Its state moves only along
// the transition table below, which the store checks on every change, always, at its
// boundary: a change the table does not allow is an Error value and the store refuses
// it, writing nothing.
//
//   CREATED ──> HELD ──> DISPATCHED ──> CONFIRMED ──> POSTED
//      │          │          │    │          ^
//      │          │          │    └─> IN_DOUBT ─┐   (leaves only on evidence)
//      v          v          v            │     │
//   REJECTED <────┴──────────┴────────────┘     │
//      ├──> VOIDED    (nothing was taken)        │
//      └──> REFUNDED  (the held money goes back) │
//                                                │
//   IN_DOUBT ──> CONFIRMED <─────────────────────┘
//
// Invariants (each checked in the store, for every change):
//  - POSTED, VOIDED and REFUNDED are terminal: nothing changes them again. A correction is
//    a new transaction whose `corrects` names the old one. A refund (kind refund) corrects a
//    POSTED payment, wholly; a cancel (kind cancel) a POSTED booking; each original has at
//    most one correction that is not VOIDED (ledger.already_corrected names it). A
//    correction goes the same road as a change (HELD, DISPATCHED, IN_DOUBT, CONFIRMED,
//    POSTED, or REJECTED → VOIDED); it never holds money of its own (funds_held stays false).
//  - Leaving DISPATCHED or IN_DOUBT needs evidence (a reply, a probe answer, a revoke's
//    answer, the reconciliation file, or an operator's note): a lost answer is never
//    taken as a failure.
//  - REFUNDED only for a payment whose money was HELD; VOIDED only when none was (a
//    booking's held slot is released by VOIDED).
//  - Fence rules: a cancel before dispatch moves the transaction to REJECTED and marks it
//    cancelled, so a dispatch that comes later is refused; a cancel for an id the ledger
//    has not seen is stored as a fence, so the create that comes later is refused; a
//    confirm (any move) for an unknown id is refused.
//  - A create with the id of an existing transaction and the same fields answers the
//    stored transaction (a retry); with other fields it is refused, naming the first field
//    that differs.
//  - Binding: a prepaid booking and its payment are created together (CreatePrepaid; a plain
//    Create naming `binds` is refused, ledger.bad_binding), both for the same patient,
//    hospital, amount and currency. The booking is never DISPATCHED (so never CONFIRMED or
//    POSTED) unless its payment is POSTED (ledger.binding_unpaid): a booking stands only
//    on a payment that stands. Releasing the other one is the confirmer's work.
//  - Entries are append-only: every change adds one, none is ever updated or deleted.
//    The transaction row is the projection of its entries (its current state, and the
//    probe schedule of an IN_DOUBT one).
//  - The store never reads the time: every change is stamped with the caller's `now_ms`
//    (from its injected clock).
//  - A partition that a split (partition_split.h) moved elsewhere is fenced: its file
//    records why (ledger_meta 'fenced'), checked inside every apply()'s write transaction,
//    and every change is then refused (Rejected "ledger.partition_moved"); reads go on.
//
// This is the interface; SQLite implements it (open_sqlite_ledger_store: one file per
// partition, WAL, synchronous=FULL, so a change is on disk before apply() returns), and
// PostgreSQL could implement the same.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"

namespace hisgate::ledger {

enum class TxState { Created, Held, Dispatched, InDoubt, Confirmed, Posted, Rejected, Voided, Refunded };
// Refund and Cancel are corrections after POSTED: a refund of a POSTED payment, a cancel of
// a POSTED booking, each carried out at the HIS (and a refund then at the provider).
enum class TxKind { Payment, Booking, Refund, Cancel };

std::string_view to_string(TxState s);   // "CREATED", "IN_DOUBT", ...
std::string_view to_string(TxKind k);    // "payment", "booking", "refund", "cancel"
bool is_correction(TxKind k);           // refund, cancel
struct Transaction;
// A refund the provider still has to make: a refund correction the HIS confirmed
// (CONFIRMED), or a REJECTED payment whose money the platform holds.
bool awaits_provider_refund(const Transaction& t);
std::optional<TxState> state_from_string(std::string_view s);  // either spelling: "IN_DOUBT", "in_doubt"
std::optional<TxKind> kind_from_string(std::string_view s);
bool is_terminal(TxState s);
// The transition table. Every state change in the code base is checked against it.
bool transition_allowed(TxState from, TxState to);
std::vector<TxState> allowed_from(TxState from);

// What a request asks for: every field a create names.
struct TransactionIntent {
    std::string id;           // the hospital's order number (check_transaction_id)
    TxKind kind = TxKind::Payment;
    std::string hospital_id;
    std::string patient_id;   // check_patient_id; never logged
    int64_t amount_fen = 0;   // check_amount_fen
    std::string currency = "CNY";
    std::string purpose;      // "registration", "outpatient", a slot id for a booking ...
    int64_t epoch = 0;        // the partition map's epoch it was routed by
    std::string province;     // the patient's province it was routed by (Route::province): a split moves it by this
    int64_t deadline_ms = 0;  // before dispatch only: when an undispatched one is given up
    std::string corrects;     // a correction: the id of the (terminal) transaction it corrects
    std::string binds;        // a prepaid booking and its payment name each other (CreatePrepaid)
};

struct Transaction {
    TransactionIntent intent;
    TxState state = TxState::Created;
    bool exists = true;        // false: only a cancel fence is stored for this id
    bool funds_held = false;   // a payment that has been HELD: the patient's money is with the platform
    bool cancelled = false;    // cancelled before dispatch: a dispatch is refused
    int attempts = 0;          // dispatches (one per attempt; never resent while unsettled)
    int64_t created_ms = 0;
    int64_t updated_ms = 0;
    int64_t dispatched_ms = 0;
    int probes = 0;            // status probes sent while IN_DOUBT; refund asks while awaiting the provider
    int64_t next_probe_ms = 0; // when the next probe (or refund ask) is due
    bool manual = false;       // in the operators' queue
    // IN_DOUBT on an operator's "not done" (OperatorRevoke): settled only by the agent's
    // revoke (revoked → REJECTED, already committed → CONFIRMED), never by the word alone.
    bool revoking = false;
    int64_t row = 0;           // the store's own number for it (never an identifier outside)
};

// One line of a transaction's history.
struct Entry {
    int64_t seq = 0;
    std::string tx_id;
    std::string event;  // create, move, cancel, fence, probe, reask, deferred, refund_ask, manual, unmarked
    std::string from_state, to_state;
    int64_t at_ms = 0;
    std::string actor;     // "confirmer", "portal", "operator:<name>", ...
    std::string evidence;  // why: "reply:committed", "probe:not_found", an operator's note
};

// The changes a store accepts.
struct Create {
    TransactionIntent intent;
};
struct Move {
    std::string id;
    TxState to = TxState::Created;
    std::string evidence;
    std::string actor = "confirmer";
    std::optional<TxState> expect_from;  // refused (ledger.state_changed) if the state is another
};
struct Cancel {
    std::string id;
    std::string reason;
    std::string actor = "portal";
};
// IN_DOUBT: `probes` status probes sent so far, the next due at next_probe_ms. Awaiting the
// provider's refund (awaits_provider_refund): `probes` refund asks so far, the next at
// next_probe_ms; the first ask (probes 1) starts a fresh schedule and leaves the manual queue.
// A correction IN_DOUBT whose probes found nothing re-asks its change in some of these
// slots (Confirmer, "re-ask"): `reask` > 0 names the re-ask's number, recorded as entry
// `reask` (the same count and next time; the slot counts towards the manual queue's bound).
// An attempt the Confirmer did not send because the agent is offline is stored with
// `deferred` (entry `deferred`, the count unchanged).
struct ScheduleProbe {
    std::string id;
    int probes = 0;
    int64_t next_probe_ms = 0;
    int reask = 0;
    // Not empty: the attempt due now was not sent (the hospital's agent is offline: this
    // says since when); `probes` is unchanged and the entry is `deferred`.
    std::string deferred = "";
};
// IN_DOUBT: probes gave up; an operator settles it. Awaiting the provider's refund: the
// provider refused or never answered that many asks; the operator is told (the asks go on).
// A REJECTED refund of a prepaid booking's payment (the HIS refused it every time it was
// asked, or an operator found it not done), marked in the commit that VOIDs it: the payment
// stays with the hospital while the booking is released, so the operators are told (the
// VOIDED row keeps the mark until ClearVoidedMark; leaving IN_DOUBT clears an IN_DOUBT's mark).
struct ToManual {
    std::string id;
    std::string reason;
};
// An operator found an IN_DOUBT transaction not done at the HIS (Confirmer::resolve). The
// word alone settles nothing: the change may still be queued at the hospital's agent, or on
// its way there, and would then be carried out after its refund or its next round. So the
// word is recorded (entry `operator_revoke`, the operator and the note), the transaction
// leaves the manual queue with `revoking` set and a fresh schedule (`probes` 0, the first
// revoke due at next_probe_ms), and only the agent's revoke answer settles it.
struct OperatorRevoke {
    std::string id;
    std::string evidence;
    std::string actor;
    int64_t next_probe_ms = 0;
};
// A VOIDED refund correction marked for the operators (ToManual above) leaves their list
// once the payment it corrected is refunded after all: stored in the commit that moves that
// payment's refund correction to POSTED (the store refuses it, ledger.not_settled, while no
// refund of the same payment is POSTED). The one change a terminal row takes: its mark
// cleared (the file's trigger allows exactly that), with an entry `unmarked`.
struct ClearVoidedMark {
    std::string id;
    std::string reason;
};
struct FundsArrived {  // a payment REJECTED before any dispatch whose money came after all
    std::string id;       // (the patient paid while the cancel closed the order): it is refunded
    std::string evidence;
};
// A booking that requires prepayment and its payment, created together or not at all, each
// naming the other in `binds` (docs/ledger.md, "Prepaid bookings"). The outcome is the
// booking's; get(payment.id) reads the payment. Both existing with the same fields is a
// retry and answers the stored booking.
struct CreatePrepaid {
    TransactionIntent booking;
    TransactionIntent payment;
};
using Command = std::variant<Create, Move, Cancel, ScheduleProbe, ToManual, OperatorRevoke, FundsArrived, CreatePrepaid,
                             ClearVoidedMark>;

// While it lives, the store's writers in this process wait (LedgerStore::hold_writes).
class WriteHold {
public:
    virtual ~WriteHold() = default;
};

class LedgerStore {
public:
    virtual ~LedgerStore() = default;
    virtual const std::string& partition() const = 0;

    // Applies `commands` in order as one durable transaction and answers each one's own
    // outcome: a refused command writes nothing and leaves the others as they are. The
    // outer error means nothing at all was stored (the disk refused the commit).
    virtual Result<std::vector<Result<Transaction>>> apply(const std::vector<Command>& commands, int64_t now_ms) = 0;
    // One command, as apply() of one.
    Result<Transaction> apply_one(const Command& command, int64_t now_ms);

    virtual Result<std::optional<Transaction>> get(const std::string& id) = 0;
    // Every transaction not in a terminal state, oldest first: what a restart resumes.
    virtual Result<std::vector<Transaction>> unfinished() = 0;
    // Every transaction in `state` (the operators' list), oldest first, at most `limit`.
    virtual Result<std::vector<Transaction>> in_state(TxState state, int limit) = 0;
    // A patient's transactions, newest first, at most `limit`.
    virtual Result<std::vector<Transaction>> of_patient(const std::string& patient_id, int limit) = 0;
    // Every transaction (reconciliation, the simulation's checks), in id order.
    virtual Result<std::vector<Transaction>> all() = 0;
    // The corrections whose `corrects` is `id`, oldest first.
    virtual Result<std::vector<Transaction>> corrections_of(const std::string& id) = 0;
    virtual Result<std::vector<Entry>> history(const std::string& id) = 0;

    // Holds this store's writers back until the hold is destroyed: an apply() already
    // running ends first, none starts meanwhile (they wait, then go in turn); reads go on.
    // A partition split takes it before it locks the file for its freeze: the lock is
    // otherwise won by polling, and writers that commit back to back can take it between
    // the polls until the freeze gives up (split.aborted "database is locked"). The store
    // outlives its holds.
    virtual std::unique_ptr<WriteHold> hold_writes() = 0;
};

struct LedgerStoreOptions {
    // true: synchronous=FULL, every commit is fsync'ed before apply() returns (production).
    // false: synchronous=OFF; a commit survives the process (a crash, a kill -9) but not a
    // power cut. Only the simulation uses it, whose crashes are process crashes.
    bool durable = true;
};

// `partition` is the partition this file holds ("south"); a file is never opened as
// another partition's (ledger.wrong_partition).
Result<std::unique_ptr<LedgerStore>> open_sqlite_ledger_store(const std::string& path, const std::string& partition,
                                                              LedgerStoreOptions options = {});

// Checks a create's fields (amount, currency, patient id, transaction id, hospital id).
Result<void> check_intent(const TransactionIntent& intent);

}  // namespace hisgate::ledger
