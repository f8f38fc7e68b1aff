// The ledger on one SQLite file per partition (ledger_store.h). Reads and writes of one
// apply() run on one connection inside one BEGIN IMMEDIATE ... COMMIT, so a batch of
// many callers' commands costs one fsync (group_commit.h forms such batches).
#include <condition_variable>
#include <functional>
#include <mutex>

#include "common/check.h"
#include "common/sqlite.h"
#include "controlplane/ledger/ledger_file.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/money.h"

namespace hisgate::ledger {

namespace {

// A terminal row never changes, but for one thing: a VOIDED one's operators' mark cleared
// (ClearVoidedMark), every other column as it was but updated_ms. kSchema makes the trigger
// without that exception (as older files have it); allow_clearing_voided_marks() replaces
// it, the name kept, once every column it names exists.
constexpr const char* kTerminalIsFinal =
    "CREATE TRIGGER IF NOT EXISTS terminal_is_final BEFORE UPDATE ON transactions"
    " WHEN OLD.state IN ('POSTED','VOIDED','REFUNDED') AND NOT (OLD.state = 'VOIDED' AND OLD.manual = 1 AND NEW.manual = 0"
    " AND (NEW.id, NEW.kind, NEW.hospital_id, NEW.patient_id, NEW.amount_fen, NEW.currency, NEW.purpose, NEW.epoch,"
    " NEW.deadline_ms, NEW.corrects, NEW.state, NEW.funds_held, NEW.cancelled, NEW.attempts, NEW.created_ms,"
    " NEW.dispatched_ms, NEW.probes, NEW.next_probe_ms, NEW.province, NEW.binds, NEW.revoking) IS"
    " (OLD.id, OLD.kind, OLD.hospital_id, OLD.patient_id, OLD.amount_fen, OLD.currency, OLD.purpose, OLD.epoch,"
    " OLD.deadline_ms, OLD.corrects, OLD.state, OLD.funds_held, OLD.cancelled, OLD.attempts, OLD.created_ms,"
    " OLD.dispatched_ms, OLD.probes, OLD.next_probe_ms, OLD.province, OLD.binds, OLD.revoking))"
    " BEGIN SELECT RAISE(ABORT, 'a terminal transaction never changes'); END";

constexpr std::string_view kSchema[] = {
    "CREATE TABLE IF NOT EXISTS ledger_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    // The current state of each transaction: the projection of its entries.
    "CREATE TABLE IF NOT EXISTS transactions("
    " id TEXT PRIMARY KEY, kind TEXT NOT NULL, hospital_id TEXT NOT NULL, patient_id TEXT NOT NULL,"
    " amount_fen INTEGER NOT NULL, currency TEXT NOT NULL, purpose TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " deadline_ms INTEGER NOT NULL, corrects TEXT NOT NULL, state TEXT NOT NULL, funds_held INTEGER NOT NULL,"
    " cancelled INTEGER NOT NULL, attempts INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " dispatched_ms INTEGER NOT NULL, probes INTEGER NOT NULL, next_probe_ms INTEGER NOT NULL, manual INTEGER NOT NULL,"
    " province TEXT NOT NULL DEFAULT '', binds TEXT NOT NULL DEFAULT '', revoking INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS transactions_open ON transactions(state) WHERE state NOT IN ('POSTED','VOIDED','REFUNDED')",
    // A patient's own list (the portal's "my bookings and payments").
    "CREATE INDEX IF NOT EXISTS transactions_by_patient ON transactions(patient_id, created_ms)",
    // Corrections by what they correct (at most one live one each); only corrections are in it.
    "CREATE INDEX IF NOT EXISTS transactions_by_corrects ON transactions(corrects) WHERE corrects != ''",
    // Cancels that came before their transaction: the create that follows is refused.
    "CREATE TABLE IF NOT EXISTS fences(id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL)",
    // Entries: seq is the rowid, which only grows here because no entry is ever deleted
    // (the trigger below), so AUTOINCREMENT's extra write per insert buys nothing.
    // tx_row is the transaction's rowid (0 for a fence, which has none): rowids grow, so the
    // index by (tx_row, seq) takes new entries on its last pages, where an index by the
    // random text id would dirty a random page per entry, and the WAL with it.
    "CREATE TABLE IF NOT EXISTS entries(seq INTEGER PRIMARY KEY, tx_row INTEGER NOT NULL, tx_id TEXT NOT NULL, event TEXT NOT NULL,"
    " from_state TEXT NOT NULL, to_state TEXT NOT NULL, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, evidence TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_by_tx ON entries(tx_row, seq)",
    // The same invariants again, in the file itself, against any other writer.
    "CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries"
    " BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries"
    " BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS terminal_is_final BEFORE UPDATE ON transactions"
    " WHEN OLD.state IN ('POSTED','VOIDED','REFUNDED')"
    " BEGIN SELECT RAISE(ABORT, 'a terminal transaction never changes'); END",
    "CREATE TRIGGER IF NOT EXISTS transactions_no_delete BEFORE DELETE ON transactions"
    " BEGIN SELECT RAISE(ABORT, 'ledger transactions are never deleted'); END",
};

constexpr const char* kColumns =
    "id, kind, hospital_id, patient_id, amount_fen, currency, purpose, epoch, deadline_ms, corrects, state, funds_held,"
    " cancelled, attempts, created_ms, updated_ms, dispatched_ms, probes, next_probe_ms, manual, province, binds, revoking";

}  // namespace

const char* ledger_columns() { return kColumns; }

Transaction read_ledger_row(const sql::Statement& s) {
    Transaction t;
    t.intent.id = s.text(0);
    auto kind = kind_from_string(s.text(1));
    HISGATE_CHECK(kind.has_value(), "stored kind", s.text(1));
    t.intent.kind = *kind;
    t.intent.hospital_id = s.text(2);
    t.intent.patient_id = s.text(3);
    t.intent.amount_fen = s.integer(4);
    t.intent.currency = s.text(5);
    t.intent.purpose = s.text(6);
    t.intent.epoch = s.integer(7);
    t.intent.deadline_ms = s.integer(8);
    t.intent.corrects = s.text(9);
    auto state = state_from_string(s.text(10));
    HISGATE_CHECK(state.has_value(), "stored state", s.text(10));
    t.state = *state;
    t.funds_held = s.integer(11) != 0;
    t.cancelled = s.integer(12) != 0;
    t.attempts = static_cast<int>(s.integer(13));
    t.created_ms = s.integer(14);
    t.updated_ms = s.integer(15);
    t.dispatched_ms = s.integer(16);
    t.probes = static_cast<int>(s.integer(17));
    t.next_probe_ms = s.integer(18);
    t.manual = s.integer(19) != 0;
    t.intent.province = s.text(20);
    t.intent.binds = s.text(21);
    t.revoking = s.integer(22) != 0;
    t.row = s.integer(23);
    return t;
}

void bind_ledger_row(sql::Statement& s, const Transaction& t) {
    const TransactionIntent& in = t.intent;
    s.bind(1, in.id).bind(2, to_string(in.kind)).bind(3, in.hospital_id).bind(4, in.patient_id).bind(5, in.amount_fen);
    s.bind(6, in.currency).bind(7, in.purpose).bind(8, in.epoch).bind(9, in.deadline_ms).bind(10, in.corrects);
    s.bind(11, to_string(t.state)).bind(12, int64_t{t.funds_held}).bind(13, int64_t{t.cancelled}).bind(14, int64_t{t.attempts});
    s.bind(15, t.created_ms).bind(16, t.updated_ms).bind(17, t.dispatched_ms).bind(18, int64_t{t.probes});
    s.bind(19, t.next_probe_ms).bind(20, int64_t{t.manual}).bind(21, in.province).bind(22, in.binds);
    s.bind(23, int64_t{t.revoking});
}

namespace {

Error refused(ErrorClass cls, const std::string& code, const std::string& id, const std::string& what) {
    return make_error(cls, code, "transaction " + id + ": " + what);
}

// The first field in which a retried create differs from the stored one, or "".
std::string first_difference(const TransactionIntent& a, const TransactionIntent& b) {
    if (a.kind != b.kind) return "kind";
    if (a.hospital_id != b.hospital_id) return "hospitalId";
    if (a.patient_id != b.patient_id) return "patientId";
    if (a.amount_fen != b.amount_fen) return "amount";
    if (a.currency != b.currency) return "currency";
    if (a.purpose != b.purpose) return "purpose";
    if (a.corrects != b.corrects) return "corrects";
    if (a.binds != b.binds) return "binds";
    return "";
}

class SqliteLedgerStore final : public LedgerStore {
public:
    SqliteLedgerStore(sql::Db db, std::string partition) : db_(std::move(db)), partition_(std::move(partition)) {}

    const std::string& partition() const override { return partition_; }

    Result<std::vector<Result<Transaction>>> apply(const std::vector<Command>& commands, int64_t now_ms) override {
        WritingTurn turn(gate_);
        std::lock_guard lock(mu_);
        std::vector<Result<Transaction>> outcomes;
        outcomes.reserve(commands.size());
        auto done = db_.transaction([&]() -> Result<void> {
            // Read inside the write transaction: a split sets the fence from its own
            // connection while holding this file's write lock, so no batch slips past it.
            auto fence = fenced_by();
            if (!fence) return fence.error();
            if (!fence->empty()) {
                Error moved = make_error(ErrorClass::Rejected, "ledger.partition_moved",
                                         "partition " + partition_ + " is read-only: " + *fence +
                                             "; route the change by the current partition map");
                outcomes.assign(commands.size(), moved);
                return {};
            }
            for (const Command& c : commands) {
                auto outcome = std::visit([&](const auto& cmd) { return run(cmd, now_ms); }, c);
                // A refused command wrote nothing (it is refused before its first write);
                // a failed write is the disk's failure and ends the whole batch.
                if (!outcome && outcome.error().code.rfind("sqlite", 0) == 0) return outcome.error();
                outcomes.push_back(std::move(outcome));
            }
            return {};
        });
        if (!done) return done.error();
        return outcomes;
    }

    Result<std::optional<Transaction>> get(const std::string& id) override {
        std::lock_guard lock(mu_);
        return load(id);
    }

    std::unique_ptr<WriteHold> hold_writes() override { return std::make_unique<GateHold>(gate_); }

    Result<std::vector<Transaction>> unfinished() override {
        return select(std::string("SELECT ") + kColumns + ", rowid" +
                      " FROM transactions WHERE state NOT IN ('POSTED','VOIDED','REFUNDED') ORDER BY rowid");
    }

    Result<std::vector<Transaction>> in_state(TxState state, int limit) override {
        return select(std::string("SELECT ") + kColumns + ", rowid" + " FROM transactions WHERE state = ?1 ORDER BY rowid LIMIT ?2",
                      [&](sql::Statement& s) { s.bind(1, to_string(state)).bind(2, int64_t{limit}); });
    }

    Result<std::vector<Transaction>> of_patient(const std::string& patient_id, int limit) override {
        return select(std::string("SELECT ") + kColumns + ", rowid" +
                          " FROM transactions WHERE patient_id = ?1 ORDER BY created_ms DESC, rowid DESC LIMIT ?2",
                      [&](sql::Statement& s) { s.bind(1, patient_id).bind(2, int64_t{limit}); });
    }

    Result<std::vector<Transaction>> all() override {
        return select(std::string("SELECT ") + kColumns + ", rowid" + " FROM transactions ORDER BY id");
    }

    Result<std::vector<Transaction>> corrections_of(const std::string& id) override {
        // "corrects != ''" lets SQLite use the partial index transactions_by_corrects.
        return select(std::string("SELECT ") + kColumns + ", rowid" +
                          " FROM transactions WHERE corrects = ?1 AND corrects != '' ORDER BY created_ms, rowid",
                      [&](sql::Statement& s) { s.bind(1, id); });
    }

    Result<std::vector<Entry>> history(const std::string& id) override {
        std::lock_guard lock(mu_);
        auto t = load(id);
        if (!t) return t.error();
        // A fence has no transaction row: its entry is found by a scan (fences are rare).
        auto s = *t ? db_.prepare_cached("SELECT seq, tx_id, event, from_state, to_state, at_ms, actor, evidence FROM entries"
                                         " WHERE tx_row = ?1 ORDER BY seq")
                    : db_.prepare_cached("SELECT seq, tx_id, event, from_state, to_state, at_ms, actor, evidence FROM entries"
                                         " WHERE tx_row = 0 AND tx_id = ?2 ORDER BY seq");
        if (!s) return s.error();
        if (*t) s->bind(1, (*t)->row);
        else s->bind(2, id);
        std::vector<Entry> out;
        while (s->step())
            out.push_back(Entry{s->integer(0), s->text(1), s->text(2), s->text(3), s->text(4), s->integer(5), s->text(6),
                                s->text(7)});
        if (s->error()) return *s->error();
        return out;
    }

private:
    // `bind` binds the query's parameters, if it has any.
    Result<std::vector<Transaction>> select(const std::string& query,
                                            const std::function<void(sql::Statement&)>& bind = {}) {
        std::lock_guard lock(mu_);
        auto s = db_.prepare_cached(query);
        if (!s) return s.error();
        if (bind) bind(*s);
        std::vector<Transaction> out;
        while (s->step()) out.push_back(read_ledger_row(*s));
        if (s->error()) return *s->error();
        return out;
    }

    Result<std::optional<Transaction>> load(const std::string& id) {
        static const std::string query = std::string("SELECT ") + kColumns + ", rowid" + " FROM transactions WHERE id = ?1";
        auto s = db_.prepare_cached(query);
        if (!s) return s.error();
        s->bind(1, id);
        if (s->step()) return std::optional<Transaction>(read_ledger_row(*s));
        if (s->error()) return *s->error();
        return std::optional<Transaction>();
    }

    // Why this partition refuses writes (a split or a rollback moved it), or "".
    Result<std::string> fenced_by() {
        auto s = db_.prepare_cached("SELECT value FROM ledger_meta WHERE key = 'fenced'");
        if (!s) return s.error();
        std::string why = s->step() ? s->text(0) : std::string();
        if (s->error()) return *s->error();
        return why;
    }

    // A refund or cancel after POSTED: of the right kind of POSTED original, of all of it,
    // for the same patient and hospital, and the only correction of it that is not VOIDED.
    Result<void> correction_refused(const TransactionIntent& in, const Transaction& old) {
        if (!is_correction(in.kind)) return {};
        const TxKind wants = in.kind == TxKind::Refund ? TxKind::Payment : TxKind::Booking;
        if (old.intent.kind != wants || old.state != TxState::Posted)
            return refused(ErrorClass::BadInput, "ledger.bad_correction", in.id,
                           "a " + std::string(to_string(in.kind)) + " corrects a POSTED " + std::string(to_string(wants)) +
                               "; " + in.corrects + " is a " + std::string(to_string(old.state)) + " " +
                               std::string(to_string(old.intent.kind)));
        if (in.amount_fen != old.intent.amount_fen || in.currency != old.intent.currency ||
            in.patient_id != old.intent.patient_id || in.hospital_id != old.intent.hospital_id)
            return refused(ErrorClass::BadInput, "ledger.bad_correction", in.id,
                           "a " + std::string(to_string(in.kind)) + " is of the whole of " + in.corrects +
                               ", for its patient and hospital");
        auto s = db_.prepare_cached("SELECT id, state FROM transactions WHERE corrects = ?1 AND state != 'VOIDED' LIMIT 1");
        if (!s) return s.error();
        s->bind(1, in.corrects);
        if (s->step())
            return refused(ErrorClass::Rejected, "ledger.already_corrected", in.id,
                           in.corrects + " already has correction " + s->text(0) + " (" + s->text(1) +
                               "); at most one refund or cancel of a transaction");
        if (s->error()) return *s->error();
        return {};
    }

    Result<bool> fenced(const std::string& id) {
        auto s = db_.prepare_cached("SELECT 1 FROM fences WHERE id = ?1");
        if (!s) return s.error();
        s->bind(1, id);
        bool found = s->step();
        if (s->error()) return *s->error();
        return found;
    }

    Result<void> entry(int64_t row, const std::string& id, std::string_view event, std::string_view from, std::string_view to,
                       int64_t at_ms, const std::string& actor, const std::string& evidence) {
        auto s = db_.prepare_cached(
            "INSERT INTO entries(tx_id, event, from_state, to_state, at_ms, actor, evidence, tx_row) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
        if (!s) return s.error();
        s->bind(8, row);
        s->bind(1, id).bind(2, event).bind(3, from).bind(4, to).bind(5, at_ms).bind(6, actor).bind(7, evidence);
        return s->run();
    }

    Result<void> save(const Transaction& t) {
        auto s = db_.prepare_cached(
            "UPDATE transactions SET state=?2, funds_held=?3, cancelled=?4, attempts=?5, updated_ms=?6, dispatched_ms=?7,"
            " probes=?8, next_probe_ms=?9, manual=?10, revoking=?11 WHERE id=?1");
        if (!s) return s.error();
        s->bind(1, t.intent.id).bind(2, to_string(t.state)).bind(3, int64_t{t.funds_held}).bind(4, int64_t{t.cancelled});
        s->bind(5, int64_t{t.attempts}).bind(6, t.updated_ms).bind(7, t.dispatched_ms).bind(8, int64_t{t.probes});
        s->bind(9, t.next_probe_ms).bind(10, int64_t{t.manual}).bind(11, int64_t{t.revoking});
        if (auto r = s->run(); !r) return r;
        HISGATE_CHECK_EQ(sqlite3_changes(db_.handle()), 1, "transaction", t.intent.id);
        return {};
    }

    Result<Transaction> run(const Create& c, int64_t now_ms) {
        const TransactionIntent& in = c.intent;
        if (auto ok = check_intent(in); !ok) return ok.error();
        auto existing = stored_same(in);
        if (!existing) return existing.error();
        if (*existing) return **existing;  // a retry of the same create: its stored answer
        if (!in.binds.empty())
            return refused(ErrorClass::BadInput, "ledger.bad_binding", in.id,
                           "binds " + in.binds + ": a prepaid booking and its payment are created together, not one alone");
        if (auto ok = creatable(in); !ok) return ok.error();
        return insert(in, now_ms);
    }

    // The stored transaction if `in` is a retry of its create; refused if its id is used
    // with other fields; nullopt if the id is new.
    Result<std::optional<Transaction>> stored_same(const TransactionIntent& in) {
        auto existing = load(in.id);
        if (!existing) return existing.error();
        if (*existing) {
            std::string field = first_difference((*existing)->intent, in);
            if (!field.empty())
                return refused(ErrorClass::BadInput, "ledger.id_reused", in.id,
                               "the id is already used with another " + field + "; a new transaction needs a new id");
        }
        return existing;
    }

    // Everything a new id is checked for before its first write: no cancel came first, and
    // a correction's original is one it may correct.
    Result<void> creatable(const TransactionIntent& in) {
        auto is_fenced = fenced(in.id);
        if (!is_fenced) return is_fenced.error();
        if (*is_fenced)
            return refused(ErrorClass::Rejected, "ledger.fenced", in.id,
                           "a cancel for this id came first; the transaction is refused, not created");
        if (!in.corrects.empty()) {
            auto old = load(in.corrects);
            if (!old) return old.error();
            if (!*old || !is_terminal((*old)->state))
                return refused(ErrorClass::BadInput, "ledger.bad_correction", in.id,
                               "corrects " + in.corrects + ", which is not a settled transaction of this partition");
            if (auto bad = correction_refused(in, **old); !bad) return bad.error();
        }
        return {};
    }

    Result<Transaction> insert(const TransactionIntent& in, int64_t now_ms) {
        auto s = db_.prepare_cached(std::string("INSERT INTO transactions(") + kColumns +
                                    ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'CREATED',0,0,0,?11,?11,0,0,0,0,?12,?13,0)");
        if (!s) return s.error();
        s->bind(1, in.id).bind(2, to_string(in.kind)).bind(3, in.hospital_id).bind(4, in.patient_id);
        s->bind(5, in.amount_fen).bind(6, in.currency).bind(7, in.purpose).bind(8, in.epoch).bind(9, in.deadline_ms);
        s->bind(10, in.corrects).bind(11, now_ms).bind(12, in.province).bind(13, in.binds);
        if (auto r = s->run(); !r) return r.error();
        int64_t row = db_.last_insert_rowid();
        std::string why = !in.corrects.empty() ? "corrects " + in.corrects : !in.binds.empty() ? "binds " + in.binds : "";
        if (auto r = entry(row, in.id, "create", "", "CREATED", now_ms, "portal", why); !r)
            return r.error();
        Transaction t;
        t.intent = in;
        t.row = row;
        t.created_ms = t.updated_ms = now_ms;
        return t;
    }

    Result<Transaction> run(const CreatePrepaid& c, int64_t now_ms) {
        const TransactionIntent& b = c.booking;
        const TransactionIntent& p = c.payment;
        for (const TransactionIntent* in : {&b, &p})
            if (auto ok = check_intent(*in); !ok) return ok.error();
        auto bad = [&](const std::string& what) {
            return refused(ErrorClass::BadInput, "ledger.bad_binding", b.id, what);
        };
        if (b.kind != TxKind::Booking || p.kind != TxKind::Payment)
            return bad("a prepaid booking binds a booking and a payment");
        if (b.binds != p.id || p.binds != b.id) return bad("the booking and its payment must name each other in binds");
        if (b.patient_id != p.patient_id || b.hospital_id != p.hospital_id || b.amount_fen != p.amount_fen ||
            b.currency != p.currency || b.province != p.province)
            return bad("the booking and its payment are of the same patient, hospital, amount and currency");
        if (b.amount_fen <= 0) return bad("a prepaid booking has a fee to pay");
        auto have_b = stored_same(b);
        if (!have_b) return have_b.error();
        auto have_p = stored_same(p);
        if (!have_p) return have_p.error();
        if (*have_b && *have_p) return **have_b;  // a retry of the pair: the stored booking
        if (*have_b || *have_p)  // unreachable through this store (created together), kept as a check
            return bad("only one of the pair exists; a pair is created together");
        for (const TransactionIntent* in : {&b, &p})
            if (auto ok = creatable(*in); !ok) return ok.error();
        // Both checked before the first write: either both are stored or, refused, neither.
        if (auto r = insert(p, now_ms); !r) return r.error();
        return insert(b, now_ms);
    }

    // A bound booking leaves for the HIS only on a POSTED payment.
    Result<void> binding_refused(const Transaction& t, TxState to) {
        if (t.intent.binds.empty() || t.intent.kind != TxKind::Booking || to != TxState::Dispatched) return {};
        auto p = load(t.intent.binds);
        if (!p) return p.error();
        if (!*p || (*p)->state != TxState::Posted)
            return refused(ErrorClass::Rejected, "ledger.binding_unpaid", t.intent.id,
                           "its prepayment " + t.intent.binds + " is " +
                               (*p ? std::string(to_string((*p)->state)) : std::string("missing")) +
                               "; a prepaid booking is sent to the hospital only once its payment is POSTED");
        return {};
    }

    Result<Transaction> run(const Move& m, int64_t now_ms) {
        auto found = load(m.id);
        if (!found) return found.error();
        if (!*found)
            return refused(ErrorClass::NotFound, "ledger.unknown_transaction", m.id,
                           "unknown to partition " + partition_ + "; a " + std::string(to_string(m.to)) + " is refused");
        Transaction t = std::move(**found);
        if (m.expect_from && *m.expect_from != t.state)
            return refused(ErrorClass::Rejected, "ledger.state_changed", m.id,
                           "is " + std::string(to_string(t.state)) + ", expected " + std::string(to_string(*m.expect_from)));
        if (t.cancelled && m.to == TxState::Dispatched)
            return refused(ErrorClass::Rejected, "ledger.fenced", m.id, "was cancelled before dispatch; the dispatch is refused");
        if (!transition_allowed(t.state, m.to)) {
            std::string allowed;
            for (TxState s : allowed_from(t.state)) allowed += (allowed.empty() ? "" : ", ") + std::string(to_string(s));
            return refused(ErrorClass::Rejected, "ledger.illegal_transition", m.id,
                           std::string(to_string(t.state)) + " -> " + std::string(to_string(m.to)) +
                               " is not allowed; from " + std::string(to_string(t.state)) + ": " +
                               (allowed.empty() ? "nothing (terminal)" : allowed));
        }
        bool needs_evidence = t.state == TxState::Dispatched || t.state == TxState::InDoubt;
        if (needs_evidence && m.evidence.empty())
            return refused(ErrorClass::BadInput, "ledger.evidence_required", m.id,
                           "leaving " + std::string(to_string(t.state)) + " needs evidence (a reply, a probe answer, an operator's note)");
        if (m.actor.empty())
            return refused(ErrorClass::BadInput, "ledger.actor_required", m.id, "a change must name who made it");
        if (m.to == TxState::Refunded && !t.funds_held)
            return refused(ErrorClass::Rejected, "ledger.refund_without_funds", m.id, "nothing was held, so nothing can be refunded");
        if (m.to == TxState::Voided && t.funds_held)
            return refused(ErrorClass::Rejected, "ledger.void_with_funds", m.id,
                           "money is held; it must be refunded, not voided");
        if (auto r = binding_refused(t, m.to); !r) return r.error();
        TxState from = t.state;
        t.state = m.to;
        t.updated_ms = now_ms;
        if (m.to == TxState::Held && t.intent.kind == TxKind::Payment) t.funds_held = true;  // a booking holds a slot, not money
        if (m.to == TxState::Dispatched) {
            ++t.attempts;
            t.dispatched_ms = now_ms;
        }
        if (from == TxState::InDoubt) {
            t.next_probe_ms = 0;
            t.manual = false;  // settled: out of the operators' queue (its history keeps who and why)
            t.revoking = false;
        }
        if (auto r = save(t); !r) return r.error();
        if (auto r = entry(t.row, t.intent.id, "move", to_string(from), to_string(m.to), now_ms, m.actor, m.evidence); !r)
            return r.error();
        return t;
    }

    Result<Transaction> run(const Cancel& c, int64_t now_ms) {
        if (auto ok = check_transaction_id(c.id); !ok) return ok.error();
        auto found = load(c.id);
        if (!found) return found.error();
        if (!*found) {
            // The cancel came before the create: keep it, so the create is refused.
            auto s = db_.prepare_cached("INSERT OR IGNORE INTO fences(id, at_ms, actor, reason) VALUES (?1,?2,?3,?4)");
            if (!s) return s.error();
            s->bind(1, c.id).bind(2, now_ms).bind(3, c.actor).bind(4, c.reason);
            if (auto r = s->run(); !r) return r.error();
            if (auto r = entry(0, c.id, "fence", "", "REJECTED", now_ms, c.actor, c.reason); !r) return r.error();
            Transaction t;
            t.intent.id = c.id;
            t.exists = false;
            t.state = TxState::Rejected;
            t.cancelled = true;
            return t;
        }
        Transaction t = std::move(**found);
        if (t.state == TxState::Rejected && t.cancelled) return t;  // a repeated cancel
        if (t.state == TxState::Dispatched || t.state == TxState::InDoubt)
            return refused(ErrorClass::Rejected, "ledger.cancel_after_dispatch", c.id,
                           "is " + std::string(to_string(t.state)) +
                               ": the hospital may hold it; it is settled by its outcome, not cancelled");
        if (t.state != TxState::Created && t.state != TxState::Held)
            return refused(ErrorClass::Rejected, "ledger.already_settled", c.id,
                           "is " + std::string(to_string(t.state)) + "; only CREATED or HELD can be cancelled");
        TxState from = t.state;
        t.state = TxState::Rejected;
        t.cancelled = true;
        t.updated_ms = now_ms;
        if (auto r = save(t); !r) return r.error();
        if (auto r = entry(t.row, t.intent.id, "cancel", to_string(from), "REJECTED", now_ms, c.actor, c.reason); !r) return r.error();
        return t;
    }

    Result<Transaction> run(const ScheduleProbe& p, int64_t now_ms) {
        auto found = load(p.id);
        if (!found) return found.error();
        if (!*found) return refused(ErrorClass::NotFound, "ledger.unknown_transaction", p.id, "unknown; no probe is scheduled");
        Transaction t = std::move(**found);
        const bool refund = awaits_provider_refund(t);
        if (t.state != TxState::InDoubt && !refund)
            return refused(ErrorClass::Rejected, "ledger.not_in_doubt", p.id,
                           "is " + std::string(to_string(t.state)) +
                               "; probes are for IN_DOUBT only, refund asks for a refund awaiting the provider");
        const std::string state(to_string(t.state));
        if (p.reask > 0 && (refund || !is_correction(t.intent.kind)))
            return refused(ErrorClass::Rejected, "ledger.not_reaskable", p.id,
                           "is a " + std::string(to_string(t.intent.kind)) + " " + state +
                               "; only a correction IN_DOUBT re-asks its change");
        t.probes = p.probes;
        t.next_probe_ms = p.next_probe_ms;
        if (refund && p.probes == 1) t.manual = false;  // a fresh schedule: not an IN_DOUBT's queue mark
        t.updated_ms = now_ms;
        if (auto r = save(t); !r) return r.error();
        if (!p.deferred.empty() && (refund || p.reask > 0))
            return refused(ErrorClass::Rejected, "ledger.not_deferrable", p.id,
                           "only a probe or revoke to the HIS is deferred for an absent agent");
        const char* event = refund ? "refund_ask" : !p.deferred.empty() ? "deferred" : p.reask > 0 ? "reask" : "probe";
        std::string what = refund ? "provider refund asks " : "probes ";
        if (!p.deferred.empty()) what = p.deferred + "; not sent, not counted; probes ";
        if (p.reask > 0)
            what = "re-ask " + std::to_string(p.reask) + " of change attempt " + std::to_string(t.attempts) +
                   " (the same request id); probes and re-asks ";
        if (auto r = entry(t.row, t.intent.id, event, state, state, now_ms, "confirmer",
                           what + std::to_string(p.probes) + ", next at " + std::to_string(p.next_probe_ms));
            !r)
            return r.error();
        return t;
    }

    Result<Transaction> run(const ToManual& m, int64_t now_ms) {
        auto found = load(m.id);
        if (!found) return found.error();
        if (!*found) return refused(ErrorClass::NotFound, "ledger.unknown_transaction", m.id, "unknown");
        Transaction t = std::move(**found);
        const bool refund = awaits_provider_refund(t);
        // A REJECTED refund of a prepaid booking's payment, about to be VOIDED in the same
        // commit (a terminal row never changes, so it is marked first).
        bool unbound_pair = false;
        if (t.state == TxState::Rejected && t.intent.kind == TxKind::Refund) {
            auto original = load(t.intent.corrects);
            if (!original) return original.error();
            unbound_pair = *original && !(*original)->intent.binds.empty();
        }
        if (t.state != TxState::InDoubt && !refund && !unbound_pair)
            return refused(ErrorClass::Rejected, "ledger.not_in_doubt", m.id,
                           "is " + std::string(to_string(t.state)) +
                               "; only IN_DOUBT, a refund awaiting the provider or a prepaid booking's refund that "
                               "did not happen goes to the manual queue");
        if (t.manual) return t;
        t.manual = true;
        if (!refund) t.next_probe_ms = 0;  // a refund's asks go on at their schedule
        t.updated_ms = now_ms;
        if (auto r = save(t); !r) return r.error();
        const std::string state(to_string(t.state));
        if (auto r = entry(t.row, t.intent.id, "manual", state, state, now_ms, "confirmer", m.reason); !r) return r.error();
        return t;
    }

    Result<Transaction> run(const OperatorRevoke& o, int64_t now_ms) {
        auto found = load(o.id);
        if (!found) return found.error();
        if (!*found) return refused(ErrorClass::NotFound, "ledger.unknown_transaction", o.id, "unknown");
        Transaction t = std::move(**found);
        if (t.state != TxState::InDoubt)
            return refused(ErrorClass::Rejected, "ledger.not_in_doubt", o.id,
                           "is " + std::string(to_string(t.state)) + "; only an IN_DOUBT transaction is revoked on an operator's word");
        if (o.evidence.empty())
            return refused(ErrorClass::BadInput, "ledger.evidence_required", o.id, "an operator's \"not done\" needs a note");
        if (o.actor.empty()) return refused(ErrorClass::BadInput, "ledger.actor_required", o.id, "a change must name who made it");
        t.revoking = true;
        t.manual = false;
        t.probes = 0;
        t.next_probe_ms = o.next_probe_ms;
        t.updated_ms = now_ms;
        if (auto r = save(t); !r) return r.error();
        if (auto r = entry(t.row, t.intent.id, "operator_revoke", "IN_DOUBT", "IN_DOUBT", now_ms, o.actor, o.evidence); !r)
            return r.error();
        return t;
    }

    Result<Transaction> run(const ClearVoidedMark& c, int64_t now_ms) {
        auto found = load(c.id);
        if (!found) return found.error();
        if (!*found) return refused(ErrorClass::NotFound, "ledger.unknown_transaction", c.id, "unknown");
        Transaction t = std::move(**found);
        if (t.state != TxState::Voided || t.intent.kind != TxKind::Refund)
            return refused(ErrorClass::Rejected, "ledger.not_marked_voided", c.id,
                           "is a " + std::string(to_string(t.state)) + " " + std::string(to_string(t.intent.kind)) +
                               "; only a VOIDED refund's operators' mark is cleared this way");
        if (!t.manual) return t;
        // Only once the payment is refunded after all: a POSTED refund of the same payment
        // (the settling move runs first in the same commit).
        auto s = db_.prepare_cached(
            "SELECT id FROM transactions WHERE corrects = ?1 AND corrects != '' AND kind = 'refund' AND state = 'POSTED' LIMIT 1");
        if (!s) return s.error();
        s->bind(1, t.intent.corrects);
        const bool settled = s->step();
        if (s->error()) return *s->error();
        s->reset();
        if (!settled)
            return refused(ErrorClass::Rejected, "ledger.not_settled", c.id,
                           "no refund of " + t.intent.corrects + " is POSTED; the operators' mark stays");
        t.manual = false;
        t.updated_ms = now_ms;
        if (auto r = save(t); !r) return r.error();
        if (auto r = entry(t.row, t.intent.id, "unmarked", "VOIDED", "VOIDED", now_ms, "confirmer", c.reason); !r) return r.error();
        return t;
    }

    Result<Transaction> run(const FundsArrived& f, int64_t now_ms) {
        auto found = load(f.id);
        if (!found) return found.error();
        if (!*found) return refused(ErrorClass::NotFound, "ledger.unknown_transaction", f.id, "unknown");
        Transaction t = std::move(**found);
        if (t.state != TxState::Rejected || t.intent.kind != TxKind::Payment || t.attempts != 0)
            return refused(ErrorClass::Rejected, "ledger.funds_not_expected", f.id,
                           "is " + std::string(to_string(t.state)) +
                               "; only a payment rejected before any dispatch takes late funds (HELD takes the others)");
        if (t.funds_held) return t;
        t.funds_held = true;
        t.updated_ms = now_ms;
        if (auto r = save(t); !r) return r.error();
        if (auto r = entry(t.row, t.intent.id, "funds", "REJECTED", "REJECTED", now_ms, "confirmer", f.evidence); !r) return r.error();
        return t;
    }

    // Writers pass the gate unless a hold is wanted; a hold waits for those inside to leave.
    struct WriteGate {
        std::mutex mu;
        std::condition_variable cv;
        int holds = 0;    // holds wanted or held
        int writing = 0;  // apply() calls past the gate
    };
    class WritingTurn {
    public:
        explicit WritingTurn(WriteGate& g) : g_(g) {
            std::unique_lock lock(g_.mu);
            g_.cv.wait(lock, [&] { return g_.holds == 0; });
            ++g_.writing;
        }
        ~WritingTurn() {
            std::lock_guard lock(g_.mu);
            if (--g_.writing == 0) g_.cv.notify_all();
        }
        WritingTurn(const WritingTurn&) = delete;
        WritingTurn& operator=(const WritingTurn&) = delete;

    private:
        WriteGate& g_;
    };
    class GateHold final : public WriteHold {
    public:
        explicit GateHold(WriteGate& g) : g_(g) {
            std::unique_lock lock(g_.mu);
            ++g_.holds;  // from here no writer passes: the hold cannot be starved
            g_.cv.wait(lock, [&] { return g_.writing == 0; });
        }
        ~GateHold() override {
            std::lock_guard lock(g_.mu);
            if (--g_.holds == 0) g_.cv.notify_all();
        }

    private:
        WriteGate& g_;
    };

    WriteGate gate_;
    std::mutex mu_;  // one apply() or read at a time on the one connection
    sql::Db db_;
    std::string partition_;
};

// Files written before the partition split needed it lack `province` (the patient's
// province, what a split routes by): added empty, so such a transaction is unroutable and a
// split of its partition refuses to start rather than guess.
Result<void> migrate(sql::Db& db) {
    auto cols = db.prepare("SELECT 1 FROM pragma_table_info('transactions') WHERE name = 'province'");
    if (!cols) return cols.error();
    bool has = cols->step();
    if (cols->error()) return *cols->error();
    if (!has)
        if (auto r = db.exec("ALTER TABLE transactions ADD COLUMN province TEXT NOT NULL DEFAULT ''"); !r) return r;
    // Files written before prepaid bookings lack `binds`: nothing in them is bound.
    auto bound = db.prepare("SELECT 1 FROM pragma_table_info('transactions') WHERE name = 'binds'");
    if (!bound) return bound.error();
    bool has_binds = bound->step();
    if (bound->error()) return *bound->error();
    if (!has_binds)
        if (auto r = db.exec("ALTER TABLE transactions ADD COLUMN binds TEXT NOT NULL DEFAULT ''"); !r) return r;
    // Files written before an operator's "not done" went through the agent's revoke lack
    // `revoking`: none of theirs is being revoked.
    auto revoking = db.prepare("SELECT 1 FROM pragma_table_info('transactions') WHERE name = 'revoking'");
    if (!revoking) return revoking.error();
    bool has_revoking = revoking->step();
    if (revoking->error()) return *revoking->error();
    if (has_revoking) return {};
    return db.exec("ALTER TABLE transactions ADD COLUMN revoking INTEGER NOT NULL DEFAULT 0");
}

// terminal_is_final as kSchema (and files written before ClearVoidedMark) have it, without
// its exception: replaced by kTerminalIsFinal, once (the new text is recognised after).
Result<void> allow_clearing_voided_marks(sql::Db& db) {
    auto trigger = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'terminal_is_final'");
    if (!trigger) return trigger.error();
    const bool current = trigger->step() && trigger->text(0).find("OLD.manual = 1") != std::string::npos;
    if (trigger->error()) return *trigger->error();
    trigger->reset();  // no statement may be pending while the schema changes
    if (current) return {};
    return db.transaction([&]() -> Result<void> {
        if (auto r = db.exec("DROP TRIGGER IF EXISTS terminal_is_final"); !r) return r;
        return db.exec(kTerminalIsFinal);
    });
}

}  // namespace

Result<sql::Db> open_ledger_file(const std::string& path, const std::string& partition, bool durable) {
    auto db = sql::Db::open_with_schema(path, std::vector<std::string_view>(std::begin(kSchema), std::end(kSchema)));
    if (!db) return db.error();
    if (auto r = migrate(*db); !r) return r.error();
    if (auto r = allow_clearing_voided_marks(*db); !r) return r.error();
    if (auto r = db->exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"); !r) return r.error();
    // Ids are random, so every insert lands on a random page of the id indexes: with
    // SQLite's default 2 MiB cache a partition past some 10,000 transactions reads most of
    // them back from the OS on each change (hold+post fell from ~12,000/s to ~5,000/s at
    // 50,000 transactions). 64 MiB keeps a busy partition's indexes in memory.
    if (auto r = db->exec("PRAGMA cache_size=-65536"); !r) return r.error();
    auto claimed = db->transaction([&]() -> Result<void> {
        auto put = db->prepare("INSERT OR IGNORE INTO ledger_meta(key, value) VALUES ('partition', ?1)");
        if (!put) return put.error();
        put->bind(1, partition);
        if (auto r = put->run(); !r) return r;
        auto get = db->prepare("SELECT value FROM ledger_meta WHERE key = 'partition'");
        if (!get) return get.error();
        if (!get->step()) return make_error(ErrorClass::Internal, "ledger.meta", path + ": no partition recorded");
        if (get->text(0) != partition)
            return make_error(ErrorClass::Config, "ledger.wrong_partition",
                              path + " holds partition " + get->text(0) + ", not " + partition);
        return {};
    });
    if (!claimed) return claimed.error();
    return std::move(db.value());
}

Result<std::unique_ptr<LedgerStore>> open_sqlite_ledger_store(const std::string& path, const std::string& partition,
                                                              LedgerStoreOptions options) {
    auto db = open_ledger_file(path, partition, options.durable);
    if (!db) return db.error();
    return std::unique_ptr<LedgerStore>(new SqliteLedgerStore(std::move(db.value()), partition));
}

}  // namespace hisgate::ledger
