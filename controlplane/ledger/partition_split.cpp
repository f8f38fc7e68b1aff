// The live partition split (partition_split.h): copy, stream, verify, freeze, switch by
// epoch, roll back; all on the ledger files through ledger_file.h's row codec.
#include "controlplane/ledger/partition_split.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "controlplane/ledger/ledger_file.h"

namespace hisgate::ledger {

namespace {

constexpr uint64_t kFnvBasis = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

void fold(uint64_t& h, std::string_view field) {
    for (unsigned char c : field) h = (h ^ c) * kFnvPrime;
    h = (h ^ 0x1f) * kFnvPrime;  // a field separator, so ("ab","c") and ("a","bc") differ
}

struct EntryRow {
    int64_t seq = 0, tx_row = 0;
    std::string tx_id, event, from_state, to_state;
    int64_t at_ms = 0;
    std::string actor, evidence, province;  // province: the transaction's; "" for a fence's entry
    bool is_fence() const { return tx_row == 0; }
};

void fold(uint64_t& h, const EntryRow& e) {
    for (const std::string* f : {&e.tx_id, &e.event, &e.from_state, &e.to_state}) fold(h, *f);
    fold(h, std::to_string(e.at_ms));
    fold(h, e.actor);
    fold(h, e.evidence);
    h = (h ^ 0x1e) * kFnvPrime;
}

struct FenceRow {
    std::string id;
    int64_t at_ms = 0;
    std::string actor, reason;
};

Result<int64_t> last_seq(sql::Db& db) {
    auto s = db.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM entries");
    if (!s) return s.error();
    int64_t seq = s->step() ? s->integer(0) : 0;
    if (s->error()) return *s->error();
    return seq;
}

// Entries in (after, upto], in seq order, each with its transaction's province.
Result<void> read_entries(sql::Db& db, int64_t after, int64_t upto, const std::function<Result<void>(EntryRow&&)>& each) {
    auto s = db.prepare_cached(
        "SELECT e.seq, e.tx_row, e.tx_id, e.event, e.from_state, e.to_state, e.at_ms, e.actor, e.evidence,"
        " COALESCE(t.province, '') FROM entries e LEFT JOIN transactions t ON e.tx_row > 0 AND t.rowid = e.tx_row"
        " WHERE e.seq > ?1 AND e.seq <= ?2 ORDER BY e.seq");
    if (!s) return s.error();
    s->bind(1, after).bind(2, upto);
    while (s->step()) {
        EntryRow e{s->integer(0), s->integer(1), s->text(2), s->text(3), s->text(4), s->text(5), s->integer(6),
                   s->text(7), s->text(8), s->text(9)};
        if (auto r = each(std::move(e)); !r) return r;
    }
    if (s->error()) return *s->error();
    return {};
}

// What one ledger file appended after a seq: its entries, the current rows of the
// transactions they touch and the fences they record. Read in one snapshot, the rows match
// the entries exactly (a change writes its row and its entry in one transaction).
struct Changes {
    std::vector<EntryRow> entries;
    std::map<int64_t, Transaction> rows;  // by the file's rowid
    std::vector<FenceRow> fences;
    int64_t last_seq = 0;
};

Result<Changes> read_changes(sql::Db& db, int64_t after) {
    Changes c;
    auto upto = last_seq(db);
    if (!upto) return upto.error();
    c.last_seq = std::max(after, *upto);
    if (*upto <= after) return c;
    if (auto r = read_entries(db, after, *upto, [&](EntryRow&& e) -> Result<void> {
            c.entries.push_back(std::move(e));
            return {};
        });
        !r)
        return r.error();
    auto row = db.prepare_cached(std::string("SELECT ") + ledger_columns() + ", rowid FROM transactions WHERE rowid = ?1");
    if (!row) return row.error();
    auto fence = db.prepare_cached("SELECT id, at_ms, actor, reason FROM fences WHERE id = ?1");
    if (!fence) return fence.error();
    for (const EntryRow& e : c.entries) {
        if (e.is_fence()) {
            fence->bind(1, e.tx_id);
            if (fence->step()) c.fences.push_back(FenceRow{fence->text(0), fence->integer(1), fence->text(2), fence->text(3)});
            if (fence->error()) return *fence->error();
            fence->reset();
            continue;
        }
        if (c.rows.contains(e.tx_row)) continue;
        row->bind(1, e.tx_row);
        if (row->step()) c.rows.emplace(e.tx_row, read_ledger_row(*row));
        if (row->error()) return *row->error();
        row->reset();
    }
    return c;
}

struct Written {
    int64_t entries = 0, rows = 0;
};

// Writes the part of `c` that `take` (by province; fences always) selects into `db`, inside
// the caller's transaction. Rows are upserted (a terminal row is left as it is: it cannot
// have changed); entries are appended in seq order, pointing at the row of this file.
Result<Written> write_changes(sql::Db& db, const Changes& c, const std::function<bool(const std::string&)>& take) {
    static const std::string upsert =
        std::string("INSERT INTO transactions(") + ledger_columns() +
        ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23)"
        " ON CONFLICT(id) DO UPDATE SET state=excluded.state, funds_held=excluded.funds_held, cancelled=excluded.cancelled,"
        " attempts=excluded.attempts, updated_ms=excluded.updated_ms, dispatched_ms=excluded.dispatched_ms,"
        " probes=excluded.probes, next_probe_ms=excluded.next_probe_ms, manual=excluded.manual, revoking=excluded.revoking"
        " WHERE transactions.state NOT IN ('POSTED','VOIDED','REFUNDED')";
    // Prepared even when there is nothing to write: the reverse-path check runs this with
    // nothing, to prove the statements work on the real file.
    auto put_row = db.prepare_cached(upsert);
    if (!put_row) return put_row.error();
    auto put_entry = db.prepare_cached(
        "INSERT INTO entries(tx_id, event, from_state, to_state, at_ms, actor, evidence, tx_row) VALUES (?1,?2,?3,?4,?5,?6,?7,"
        " CASE WHEN ?8 = 0 THEN 0 ELSE (SELECT rowid FROM transactions WHERE id = ?1) END)");
    if (!put_entry) return put_entry.error();
    auto put_fence = db.prepare_cached("INSERT OR IGNORE INTO fences(id, at_ms, actor, reason) VALUES (?1,?2,?3,?4)");
    if (!put_fence) return put_fence.error();
    Written w;
    for (const auto& [rowid, t] : c.rows) {
        if (!take(t.intent.province)) continue;
        bind_ledger_row(*put_row, t);
        if (auto r = put_row->run(); !r) return r.error();
        ++w.rows;
    }
    for (const EntryRow& e : c.entries) {
        if (!e.is_fence() && !take(e.province)) continue;
        put_entry->bind(1, e.tx_id).bind(2, e.event).bind(3, e.from_state).bind(4, e.to_state).bind(5, e.at_ms);
        put_entry->bind(6, e.actor).bind(7, e.evidence).bind(8, e.tx_row);
        if (auto r = put_entry->run(); !r) return r.error();
        ++w.entries;
    }
    for (const FenceRow& f : c.fences) {
        put_fence->bind(1, f.id).bind(2, f.at_ms).bind(3, f.actor).bind(4, f.reason);
        if (auto r = put_fence->run(); !r) return r.error();
    }
    return w;
}

Result<void> set_meta(sql::Db& db, const std::string& key, const std::string& value) {
    auto s = db.prepare_cached("INSERT OR REPLACE INTO ledger_meta(key, value) VALUES (?1, ?2)");
    if (!s) return s.error();
    s->bind(1, key).bind(2, value);
    return s->run();
}

Result<std::string> get_meta(sql::Db& db, const std::string& key) {
    auto s = db.prepare_cached("SELECT value FROM ledger_meta WHERE key = ?1");
    if (!s) return s.error();
    s->bind(1, key);
    std::string value = s->step() ? s->text(0) : std::string();
    if (s->error()) return *s->error();
    return value;
}

Result<void> unfence(sql::Db& db) {
    auto s = db.prepare_cached("DELETE FROM ledger_meta WHERE key = 'fenced'");
    if (!s) return s.error();
    return s->run();
}

// state → (count, sum of amounts), per province.
using Balances = std::map<std::string, std::pair<int64_t, int64_t>>;
Result<std::map<std::string, Balances>> balances_by_province(sql::Db& db) {
    auto s = db.prepare_cached("SELECT province, state, COUNT(*), SUM(amount_fen) FROM transactions GROUP BY province, state");
    if (!s) return s.error();
    std::map<std::string, Balances> out;
    while (s->step()) out[s->text(0)][s->text(1)] = {s->integer(2), s->integer(3)};
    if (s->error()) return *s->error();
    return out;
}

Result<int64_t> count_fences(sql::Db& db) {
    auto s = db.prepare_cached("SELECT COUNT(*) FROM fences");
    if (!s) return s.error();
    int64_t n = s->step() ? s->integer(0) : 0;
    if (s->error()) return *s->error();
    return n;
}

std::string describe(const Balances& b) {
    std::string out;
    for (const auto& [state, cs] : b)
        out += (out.empty() ? "" : ", ") + state + " " + std::to_string(cs.first) + "/" + std::to_string(cs.second) + " fen";
    return out.empty() ? "nothing" : out;
}

// Every stored field but the file's own row number.
bool same_row(const Transaction& a, const Transaction& b) {
    const TransactionIntent &x = a.intent, &y = b.intent;
    return x.id == y.id && x.kind == y.kind && x.hospital_id == y.hospital_id && x.patient_id == y.patient_id &&
           x.amount_fen == y.amount_fen && x.currency == y.currency && x.purpose == y.purpose && x.epoch == y.epoch &&
           x.deadline_ms == y.deadline_ms && x.corrects == y.corrects && x.province == y.province && a.state == b.state &&
           a.funds_held == b.funds_held && a.cancelled == b.cancelled && a.attempts == b.attempts &&
           a.created_ms == b.created_ms && a.updated_ms == b.updated_ms && a.dispatched_ms == b.dispatched_ms &&
           a.probes == b.probes && a.next_probe_ms == b.next_probe_ms && a.manual == b.manual && a.revoking == b.revoking;
}

bool routes_to_targets(const PartitionMap& map, const SplitPlan& plan) {
    for (const auto& t : plan.targets)
        for (const auto& p : t.provinces) {
            auto it = map.partition_of_province.find(p);
            if (it == map.partition_of_province.end() || it->second != t.partition) return false;
        }
    return true;
}

}  // namespace

std::string_view to_string(SplitPhase p) {
    switch (p) {
        case SplitPhase::Planned: return "planned";
        case SplitPhase::Copying: return "copying";
        case SplitPhase::Frozen: return "frozen";
        case SplitPhase::Switched: return "switched";
        case SplitPhase::Aborted: return "aborted";
        case SplitPhase::RolledBack: return "rolled_back";
    }
    return "unknown";
}

void remove_ledger_file(const std::string& path) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix, ec);
}

Result<void> SplitPlan::check(const PartitionMap& current) const {
    auto bad = [](const std::string& what) { return make_error(ErrorClass::BadInput, "split.bad_plan", what); };
    std::set<std::string> own;
    for (const auto& [province, partition] : current.partition_of_province)
        if (partition == source) own.insert(province);
    if (own.empty()) return bad("partition " + source + " is not in the map of epoch " + std::to_string(current.epoch));
    if (source_path.empty()) return bad("the source's ledger file is not named");
    if (targets.empty()) return bad("no target partitions");
    if (max_freeze.count() <= 0) return bad("max_freeze must be positive");
    std::set<std::string> names, paths{source_path}, taken;
    auto existing = current.partitions();
    for (const auto& t : targets) {
        if (!names.insert(t.partition).second) return bad("target " + t.partition + " is named twice");
        if (std::find(existing.begin(), existing.end(), t.partition) != existing.end())
            return bad("target " + t.partition + " is already a partition of the map");
        if (t.path.empty() || !paths.insert(t.path).second) return bad("target " + t.partition + ": its file is empty or not distinct");
        if (t.provinces.empty()) return bad("target " + t.partition + " takes no province");
        for (const auto& p : t.provinces) {
            if (!own.contains(p)) return bad("province " + p + " (target " + t.partition + ") is not " + source + "'s");
            if (!taken.insert(p).second) return bad("province " + p + " is given to two targets");
        }
    }
    for (const auto& p : own)
        if (!taken.contains(p)) return bad("province " + p + " of " + source + " is given to no target");
    PartitionMap after{current.epoch + 1, assignments_after(current)};
    return after.validate();  // the names' shape
}

std::map<std::string, std::string> SplitPlan::assignments_after(const PartitionMap& current) const {
    auto out = current.partition_of_province;
    for (const auto& t : targets)
        for (const auto& p : t.provinces) out[p] = t.partition;
    return out;
}

nlohmann::json SplitProgress::to_json() const {
    nlohmann::json j;
    j["phase"] = std::string(to_string(phase));
    j["step"] = step;
    j["source"] = source;
    j["targets"] = targets;
    j["fromEpoch"] = from_epoch;
    j["toEpoch"] = to_epoch;
    j["sourceSeq"] = source_seq;
    j["copiedSeq"] = copied_seq;
    j["lag"] = source_seq - copied_seq;
    j["entriesCopied"] = entries_copied;
    j["rowsCopied"] = rows_copied;
    j["rounds"] = rounds;
    if (freeze_ms >= 0) j["freezeMs"] = freeze_ms;
    if (rollback_freeze_ms >= 0) j["rollbackFreezeMs"] = rollback_freeze_ms;
    j["streamedBack"] = streamed_back;
    if (!error.empty()) j["error"] = error;
    return j;
}

struct PartitionSplit::Target {
    SplitTarget spec;
    std::optional<sql::Db> db;
    // The ordered checksums, folded as far as each side was verified.
    uint64_t source_hash = kFnvBasis, target_hash = kFnvBasis;
    int64_t source_entries = 0, target_entries = 0, target_seq = 0;
    int64_t switch_seq = 0;  // the target's last entry at the switch: a rollback streams what follows
};

PartitionSplit::PartitionSplit(SplitPlan plan, PartitionMapStore& maps, Clock& clock, SplitOptions options)
    : plan_(std::move(plan)), maps_(maps), clock_(clock), options_(std::move(options)) {
    progress_.source = plan_.source;
    for (size_t i = 0; i < plan_.targets.size(); ++i) {
        progress_.targets.push_back(plan_.targets[i].partition);
        for (const auto& p : plan_.targets[i].provinces) target_of_province_[p] = i;
    }
}

PartitionSplit::~PartitionSplit() {
    SplitPhase phase = progress().phase;
    if (phase == SplitPhase::Copying || phase == SplitPhase::Frozen) (void)abort("the split was dropped unfinished");
}

SplitProgress PartitionSplit::progress() const {
    std::lock_guard lock(progress_mu_);
    return progress_;
}

void PartitionSplit::step(const std::string& name) {
    SplitProgress copy;
    {
        std::lock_guard lock(progress_mu_);
        progress_.step = name;
        copy = progress_;
    }
    if (options_.on_step) options_.on_step(copy);
}

void PartitionSplit::cleanup_targets() {
    for (auto& t : targets_) {
        t->db.reset();  // closed before its files go
        remove_ledger_file(t->spec.path);
    }
    targets_.clear();
}

Error PartitionSplit::fail(Error e) {
    SplitPhase phase = progress().phase;
    if (phase == SplitPhase::Switched || phase == SplitPhase::RolledBack || phase == SplitPhase::Aborted) return e;
    if (source_ && source_->in_transaction()) (void)source_->exec("ROLLBACK");  // the freeze ends, nothing written
    holds_.clear();
    freeze_ = 0;
    cleanup_targets();
    source_.reset();
    {
        std::lock_guard lock(progress_mu_);
        progress_.phase = SplitPhase::Aborted;
        progress_.error = e.describe();
    }
    step("aborted");
    return e;
}

void PartitionSplit::hold_writers(const std::vector<std::string>& partitions) {
    if (options_.hold_writers) holds_ = options_.hold_writers(partitions);
}

Result<void> PartitionSplit::within_freeze(const char* at) {
    if (freeze_ == 0) return {};
    auto held = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - frozen_at_);
    if (held <= plan_.max_freeze) return {};
    return fail(make_error(ErrorClass::Timeout, "split.freeze_timeout",
                           "writes to " + plan_.source + " were frozen " + std::to_string(held.count()) + " ms at " + at +
                               ", past the bound of " + std::to_string(plan_.max_freeze.count()) +
                               " ms; the split is rolled back and the targets removed"));
}

template <class Fn>
auto PartitionSplit::in_source_snapshot(Fn&& fn) -> decltype(fn()) {
    if (freeze_ != 0) return fn();  // the freeze's write transaction is the snapshot
    if (auto r = source_->exec("BEGIN"); !r) return r.error();
    auto out = fn();
    if (auto r = source_->exec(out ? "COMMIT" : "ROLLBACK"); !r && out) return r.error();
    return out;
}

Result<void> PartitionSplit::start() {
    if (progress().phase != SplitPhase::Planned)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "start: the split is " + std::string(to_string(progress().phase)));
    auto current = maps_.current();
    if (!current) return current.error();
    before_ = *current;
    if (auto ok = plan_.check(before_); !ok) return ok.error();
    if (!std::filesystem::exists(plan_.source_path))
        return make_error(ErrorClass::NotFound, "split.no_source", plan_.source_path + " does not exist");
    for (const auto& t : plan_.targets)
        if (std::filesystem::exists(t.path))
            return make_error(ErrorClass::Rejected, "split.target_exists",
                              t.path + " exists: a split writes only new files (remove it, or name another)");
    auto source = open_ledger_file(plan_.source_path, plan_.source, plan_.durable);
    if (!source) return source.error();
    source_.emplace(std::move(source.value()));
    auto fenced = get_meta(*source_, "fenced");
    if (!fenced) return fenced.error();
    if (!fenced->empty()) {
        source_.reset();
        return make_error(ErrorClass::Rejected, "ledger.partition_moved", plan_.source + " is read-only: " + *fenced);
    }
    {
        std::lock_guard lock(progress_mu_);
        progress_.phase = SplitPhase::Copying;
        progress_.from_epoch = before_.epoch;
    }
    for (const auto& spec : plan_.targets) {
        auto db = open_ledger_file(spec.path, spec.partition, plan_.durable);
        auto t = std::make_unique<Target>();
        t->spec = spec;
        targets_.push_back(std::move(t));  // listed before the check, so a failure removes the file
        if (!db) return fail(db.error());
        targets_.back()->db.emplace(std::move(db.value()));
        if (auto r = targets_.back()->db->transaction([&]() -> Result<void> { return set_meta(*targets_.back()->db, "split_from", plan_.source); });
            !r)
            return fail(r.error());
    }
    auto copied = in_source_snapshot([&] { return catch_up_in_snapshot(); });
    if (!copied) return fail(copied.error());
    step("started");
    return {};
}

Result<int64_t> PartitionSplit::catch_up_in_snapshot() {
    auto changes = read_changes(*source_, cursor_);
    if (!changes) return changes.error();
    for (const auto& [rowid, t] : changes->rows)
        if (!target_of_province_.contains(t.intent.province))
            return make_error(ErrorClass::Config, "split.unroutable",
                              "transaction " + t.intent.id + " of " + plan_.source + " has " +
                                  (t.intent.province.empty() ? std::string("no stored province (written before provinces were stored)")
                                                             : "province " + t.intent.province + ", which no target takes"));
    Written total;
    for (auto& t : targets_) {
        const auto& provinces = t->spec.provinces;
        auto w = t->db->transaction([&]() -> Result<Written> {
            auto w = write_changes(*t->db, *changes, [&](const std::string& p) { return provinces.contains(p); });
            if (!w) return w.error();
            if (auto r = set_meta(*t->db, "split_cursor", std::to_string(changes->last_seq)); !r) return r.error();
            return w;
        });
        if (!w) return w.error();
        total.entries += w->entries;
        total.rows += w->rows;
    }
    cursor_ = changes->last_seq;
    std::lock_guard lock(progress_mu_);
    progress_.source_seq = progress_.copied_seq = cursor_;
    progress_.entries_copied += static_cast<int64_t>(changes->entries.size());
    progress_.rows_copied += total.rows;
    ++progress_.rounds;
    return static_cast<int64_t>(changes->entries.size());
}

Result<int64_t> PartitionSplit::catch_up() {
    SplitPhase phase = progress().phase;
    if (phase != SplitPhase::Copying && phase != SplitPhase::Frozen)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "catch_up: the split is " + std::string(to_string(phase)));
    auto n = in_source_snapshot([&] { return catch_up_in_snapshot(); });
    if (!n) return fail(n.error());
    if (auto r = within_freeze("catch-up"); !r) return r.error();
    step("caught_up");
    return n;
}

Result<Verification> PartitionSplit::verify_in_snapshot() {
    Verification v;
    v.freeze = freeze_;
    v.at_ms = now_ms();
    auto upto = last_seq(*source_);
    if (!upto) return upto.error();
    v.source_seq = *upto;
    // Balances: a full scan of both sides, unless a verification already found them equal
    // (`matched_seq_`) and every entry since was folded here: then only the rows those
    // entries touched can differ, and each is compared whole with its copy (which is
    // stronger than their sums). This keeps the verification inside the freeze short.
    const bool incremental = matched_seq_ > 0 && matched_seq_ == verified_source_seq_;
    std::set<int64_t> touched;  // source rowids changed since the last matching verification
    // If anything fails half-way the folded checksums are no longer whole: start them over.
    auto restart = [&](Error e) {
        verified_source_seq_ = matched_seq_ = 0;
        for (auto& t : targets_) t->source_hash = t->target_hash = kFnvBasis, t->source_entries = t->target_entries = t->target_seq = 0;
        return e;
    };
    auto folded = read_entries(*source_, verified_source_seq_, *upto, [&](EntryRow&& e) -> Result<void> {
        if (e.is_fence()) {
            for (auto& t : targets_) fold(t->source_hash, e), ++t->source_entries;
            return {};
        }
        auto it = target_of_province_.find(e.province);
        if (it == target_of_province_.end())
            return make_error(ErrorClass::Config, "split.unroutable", "transaction " + e.tx_id + " has no province a target takes");
        touched.insert(e.tx_row);
        fold(targets_[it->second]->source_hash, e);
        ++targets_[it->second]->source_entries;
        return {};
    });
    if (!folded) return restart(folded.error());
    verified_source_seq_ = *upto;
    Result<std::map<std::string, Balances>> source_balances = std::map<std::string, Balances>{};
    if (!incremental) source_balances = balances_by_province(*source_);
    if (!source_balances) return restart(source_balances.error());
    // The touched rows, source and copy side by side (incremental only).
    std::map<std::string, std::pair<Transaction, size_t>> changed;  // id → (source row, its target)
    if (incremental) {
        auto row = source_->prepare_cached(std::string("SELECT ") + ledger_columns() + ", rowid FROM transactions WHERE rowid = ?1");
        if (!row) return restart(row.error());
        for (int64_t rowid : touched) {
            row->bind(1, rowid);
            if (row->step()) {
                Transaction t = read_ledger_row(*row);
                size_t target = target_of_province_.at(t.intent.province);
                std::string id = t.intent.id;
                changed.emplace(std::move(id), std::make_pair(std::move(t), target));
            }
            if (row->error()) return restart(*row->error());
            row->reset();
        }
    }
    auto source_fences = count_fences(*source_);
    if (!source_fences) return restart(source_fences.error());

    v.ok = true;
    auto mismatch = [&](const std::string& what) {
        if (v.ok) v.mismatch = what;
        v.ok = false;
    };
    for (size_t index = 0; index < targets_.size(); ++index) {
        auto& t = targets_[index];
        TargetCheck check;
        check.partition = t->spec.partition;
        auto tupto = last_seq(*t->db);
        if (!tupto) return restart(tupto.error());
        auto tf = read_entries(*t->db, t->target_seq, *tupto, [&](EntryRow&& e) -> Result<void> {
            fold(t->target_hash, e);
            ++t->target_entries;
            return {};
        });
        if (!tf) return restart(tf.error());
        t->target_seq = *tupto;
        Result<std::map<std::string, Balances>> tb = std::map<std::string, Balances>{};
        if (!incremental) tb = balances_by_province(*t->db);
        if (!tb) return restart(tb.error());
        std::string row_mismatch;
        if (incremental) {
            auto copy = t->db->prepare_cached(std::string("SELECT ") + ledger_columns() + ", rowid FROM transactions WHERE id = ?1");
            if (!copy) return restart(copy.error());
            for (const auto& [id, source_row] : changed) {
                if (source_row.second != index) continue;
                copy->bind(1, id);
                std::optional<Transaction> found_row;
                if (copy->step()) found_row = read_ledger_row(*copy);
                if (copy->error()) return restart(*copy->error());
                copy->reset();
                if (row_mismatch.empty() && (!found_row || !same_row(*found_row, source_row.first)))
                    row_mismatch = t->spec.partition + ": transaction " + id + (found_row ? " differs from the source's" : " is missing");
            }
        }
        auto tfences = count_fences(*t->db);
        if (!tfences) return restart(tfences.error());
        Balances expected, found;
        for (const auto& [province, by_state] : *source_balances)
            if (t->spec.provinces.contains(province))
                for (const auto& [state, cs] : by_state) expected[state].first += cs.first, expected[state].second += cs.second;
        for (const auto& [province, by_state] : *tb)
            for (const auto& [state, cs] : by_state) found[state].first += cs.first, found[state].second += cs.second;
        check.entries = t->target_entries;
        check.checksum = t->target_hash;
        check.fences = *tfences;
        check.balances = found;
        for (const auto& [state, cs] : found) check.transactions += cs.first;
        const std::string& name = t->spec.partition;
        if (t->target_entries != t->source_entries)
            mismatch(name + ": " + std::to_string(t->target_entries) + " entries, the source has " +
                     std::to_string(t->source_entries) + " for its provinces up to seq " + std::to_string(*upto));
        else if (t->target_hash != t->source_hash)
            mismatch(name + ": the ordered checksum of its entries differs from the source's");
        else if (!incremental && found != expected)
            mismatch(name + ": balances " + describe(found) + "; the source's for its provinces: " + describe(expected));
        else if (!row_mismatch.empty())
            mismatch(row_mismatch);
        else if (*tfences != *source_fences)
            mismatch(name + ": " + std::to_string(*tfences) + " fences, the source has " + std::to_string(*source_fences));
        check.matches = v.ok;
        v.targets.push_back(std::move(check));
    }
    v.balances_scanned = !incremental;
    matched_seq_ = v.ok ? *upto : 0;
    return v;
}

Result<Verification> PartitionSplit::verify() {
    SplitPhase phase = progress().phase;
    if (phase != SplitPhase::Copying && phase != SplitPhase::Frozen)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "verify: the split is " + std::string(to_string(phase)));
    auto v = in_source_snapshot([&]() -> Result<Verification> {
        if (auto n = catch_up_in_snapshot(); !n) return n.error();
        return verify_in_snapshot();
    });
    if (!v) return fail(v.error());
    if (auto r = within_freeze("verify"); !r) return r.error();
    {
        std::lock_guard lock(progress_mu_);
        if (!v->ok) progress_.error = "verification: " + v->mismatch;
    }
    step("verified");
    return v;
}

Result<void> PartitionSplit::check_reverse_in_snapshot() {
    // The way back publishes the pre-split assignments on the epoch the switch will make:
    // the map must not have moved on, and those assignments must still make a valid map.
    auto current = maps_.current();
    if (!current) return current.error();
    if (current->epoch != before_.epoch)
        return make_error(ErrorClass::Rejected, "split.map_moved",
                          "the map is at epoch " + std::to_string(current->epoch) + ", the split started on " +
                              std::to_string(before_.epoch) + ": start again on the current map");
    PartitionMap back{before_.epoch + 2, before_.partition_of_province};
    if (auto ok = back.validate(); !ok) return ok.error();
    // The reverse stream on the real files: each target read after its last entry (nothing
    // yet), written into the source; the write side needs the source's write lock, so it
    // runs only inside the freeze (switch_over always checks there).
    for (auto& t : targets_) {
        auto tail = last_seq(*t->db);
        if (!tail) return tail.error();
        auto changes = read_changes(*t->db, *tail);
        if (!changes) return changes.error();
        if (freeze_ != 0)
            if (auto w = write_changes(*source_, *changes, [](const std::string&) { return true; }); !w) return w.error();
    }
    return {};
}

Result<void> PartitionSplit::check_reverse() {
    SplitPhase phase = progress().phase;
    if (phase != SplitPhase::Copying && phase != SplitPhase::Frozen)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "check_reverse: the split is " + std::string(to_string(phase)));
    auto r = in_source_snapshot([&] { return check_reverse_in_snapshot(); });
    if (!r) return fail(r.error());
    if (auto w = within_freeze("the reverse check"); !w) return w.error();
    step("reverse_checked");
    return {};
}

Result<void> PartitionSplit::freeze() {
    if (progress().phase != SplitPhase::Copying)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "freeze: the split is " + std::string(to_string(progress().phase)));
    // Waits (SQLite's busy timeout) for a writer's transaction in progress, then holds the
    // lock: from here no change reaches the source.
    hold_writers({plan_.source});
    if (auto r = source_->exec("BEGIN IMMEDIATE"); !r) return fail(r.error());
    frozen_at_ = clock_.steady_now();
    freeze_ = ++freezes_;
    auto seq = last_seq(*source_);
    if (!seq) return fail(seq.error());
    frozen_seq_ = *seq;
    {
        std::lock_guard lock(progress_mu_);
        progress_.phase = SplitPhase::Frozen;
        progress_.source_seq = frozen_seq_;
    }
    step("frozen");
    return within_freeze("the freeze");
}

Result<SwitchReport> PartitionSplit::switch_over(const Verification& v) {
    if (progress().phase != SplitPhase::Frozen)
        return make_error(ErrorClass::Rejected, "split.not_frozen",
                          "switch: the split is " + std::string(to_string(progress().phase)) + "; freeze first");
    if (auto r = within_freeze("the switch"); !r) return r.error();
    if (v.freeze != freeze_ || v.source_seq != frozen_seq_)
        return make_error(ErrorClass::Rejected, "split.stale_verification",
                          "the verification was made at source seq " + std::to_string(v.source_seq) +
                              (v.freeze == freeze_ ? std::string() : std::string(" outside this freeze")) +
                              "; the switch point is seq " + std::to_string(frozen_seq_) + " in this freeze: verify again");
    if (!v.ok) return fail(make_error(ErrorClass::Internal, "split.verification_failed", v.mismatch));
    if (auto r = check_reverse_in_snapshot(); !r) return fail(r.error());
    step("reverse_checked");
    if (auto r = within_freeze("the reverse check"); !r) return r.error();

    for (auto& t : targets_) {
        auto tail = last_seq(*t->db);
        if (!tail) return fail(tail.error());
        t->switch_seq = *tail;
        auto r = t->db->transaction([&]() -> Result<void> {
            if (auto m = set_meta(*t->db, "split_switch_seq", std::to_string(t->switch_seq)); !m) return m;
            return set_meta(*t->db, "split_from_epoch", std::to_string(before_.epoch));
        });
        if (!r) return fail(r.error());
    }
    std::string names;
    for (const auto& t : plan_.targets) names += (names.empty() ? "" : ", ") + t.partition;
    int64_t epoch = before_.epoch + 1;
    if (auto r = set_meta(*source_, "fenced", "split into " + names + " at map epoch " + std::to_string(epoch)); !r)
        return fail(r.error());
    if (auto r = within_freeze("the publish"); !r) return r.error();
    auto published = maps_.publish(before_.epoch, plan_.assignments_after(before_), now_ms());
    if (!published) return fail(published.error());
    {
        std::lock_guard lock(progress_mu_);
        progress_.to_epoch = published->epoch;
    }
    step("published");
    // Reads follow the map from here; the fence's commit ends the freeze and switches writes.
    auto committed = source_->exec("COMMIT");
    holds_.clear();  // the writers go on, and meet the fence
    auto freeze_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - frozen_at_).count();
    freeze_ = 0;
    {
        std::lock_guard lock(progress_mu_);
        progress_.phase = SplitPhase::Switched;
        progress_.freeze_ms = freeze_ms;
    }
    if (!committed) {
        // The map names the targets but the source's fence did not commit: try it again
        // on its own; if that fails too, recover_split() fences it at the next start.
        (void)source_->abandon_transaction(committed.error());
        auto again = source_->transaction([&]() -> Result<void> {
            return set_meta(*source_, "fenced", "split into " + names + " at map epoch " + std::to_string(epoch));
        });
        if (!again)
            return make_error(ErrorClass::Internal, "split.fence_failed",
                              "the map of epoch " + std::to_string(epoch) + " names the targets but " + plan_.source +
                                  "'s fence could not be written (" + again.error().describe() + "); run recover_split");
    }
    step("switched");
    return SwitchReport{published->epoch, freeze_ms, v};
}

Result<SwitchReport> PartitionSplit::freeze_and_switch() {
    // Most of the copying, and the full comparison, happen before the freeze, so the frozen
    // catch-up and verification cover only what came since.
    // The full one takes long on a big partition, and what arrives meanwhile would be the
    // freeze's to copy and compare: a second, incremental one takes that off the freeze.
    for (int pass = 0; pass < 2; ++pass) {
        auto before = verify();
        if (!before) return before.error();
        if (!before->ok) return fail(make_error(ErrorClass::Internal, "split.verification_failed", before->mismatch));
    }
    if (auto r = freeze(); !r) return r.error();
    auto v = verify();  // catches up to the frozen seq, then compares
    if (!v) return v.error();
    return switch_over(*v);
}

Result<void> PartitionSplit::abort(const std::string& reason) {
    SplitPhase phase = progress().phase;
    if (phase == SplitPhase::Switched)
        return make_error(ErrorClass::Rejected, "split.switched", "the split has switched: roll it back instead");
    if (phase != SplitPhase::Copying && phase != SplitPhase::Frozen && phase != SplitPhase::Planned)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "abort: the split is " + std::string(to_string(phase)));
    (void)fail(make_error(ErrorClass::Rejected, "split.aborted", reason));
    return {};
}

Result<void> PartitionSplit::rollback() {
    if (progress().phase != SplitPhase::Switched)
        return make_error(ErrorClass::Rejected, "split.bad_phase",
                          "rollback: the split is " + std::string(to_string(progress().phase)) + "; only a switched split rolls back");
    auto current = maps_.current();
    if (!current) return current.error();
    int64_t to_epoch = progress().to_epoch;
    if (current->epoch != to_epoch)
        return make_error(ErrorClass::Rejected, "split.map_moved",
                          "the map moved on to epoch " + std::to_string(current->epoch) + " after the split's " +
                              std::to_string(to_epoch) + "; a rollback would undo that");
    // Freeze the targets and the source (all their writers wait on the locks), stream back,
    // flip the fences, publish; any failure before the publish undoes everything.
    std::vector<sql::Db*> held;
    auto release = [&](Error e) {
        for (sql::Db* db : held) (void)db->exec("ROLLBACK");
        holds_.clear();
        std::lock_guard lock(progress_mu_);
        progress_.error = "rollback: " + e.describe();
        return e;
    };
    auto started = clock_.steady_now();
    std::vector<std::string> frozen{plan_.source};
    for (auto& t : targets_) frozen.push_back(t->spec.partition);
    hold_writers(frozen);
    for (auto& t : targets_) {
        if (auto r = t->db->exec("BEGIN IMMEDIATE"); !r) return release(r.error());
        held.push_back(&*t->db);
    }
    if (auto r = source_->exec("BEGIN IMMEDIATE"); !r) return release(r.error());
    held.push_back(&*source_);
    int64_t back = 0;
    int64_t epoch = to_epoch + 1;
    for (auto& t : targets_) {
        auto changes = read_changes(*t->db, t->switch_seq);
        if (!changes) return release(changes.error());
        auto w = write_changes(*source_, *changes, [](const std::string&) { return true; });
        if (!w) return release(w.error());
        back += w->entries;
        if (auto r = set_meta(*t->db, "fenced", "rolled back into " + plan_.source + " at map epoch " + std::to_string(epoch)); !r)
            return release(r.error());
    }
    if (auto r = unfence(*source_); !r) return release(r.error());
    auto published = maps_.publish(to_epoch, before_.partition_of_province, now_ms());
    if (!published) return release(published.error());
    // The source first: once it is committed it holds everything, and its writes open.
    if (auto r = source_->exec("COMMIT"); !r) {
        (void)source_->abandon_transaction(r.error());
        return release(make_error(ErrorClass::Internal, "split.rollback_commit",
                                  "the map of epoch " + std::to_string(published->epoch) + " names " + plan_.source +
                                      " but its commit failed (" + r.error().describe() + "); run recover_split"));
    }
    for (auto& t : targets_)
        if (auto r = t->db->exec("COMMIT"); !r) {
            (void)t->db->abandon_transaction(r.error());
            holds_.clear();
            return make_error(ErrorClass::Internal, "split.rollback_commit",
                              t->spec.partition + "'s fence did not commit (" + r.error().describe() + "); run recover_split");
        }
    holds_.clear();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started).count();
    {
        std::lock_guard lock(progress_mu_);
        progress_.phase = SplitPhase::RolledBack;
        progress_.rollback_freeze_ms = ms;
        progress_.streamed_back = back;
        progress_.to_epoch = published->epoch;
    }
    step("rolled_back");
    return {};
}

Result<void> PartitionSplit::attach_switched() {
    if (progress().phase != SplitPhase::Planned)
        return make_error(ErrorClass::Rejected, "split.bad_phase", "attach: the split is " + std::string(to_string(progress().phase)));
    auto current = maps_.current();
    if (!current) return current.error();
    if (!routes_to_targets(*current, plan_))
        return make_error(ErrorClass::Rejected, "split.not_switched",
                          "the map of epoch " + std::to_string(current->epoch) + " does not name the split's targets");
    auto source = open_ledger_file(plan_.source_path, plan_.source, plan_.durable);
    if (!source) return source.error();
    std::vector<std::unique_ptr<Target>> targets;
    int64_t from_epoch = 0;
    for (const auto& spec : plan_.targets) {
        if (!std::filesystem::exists(spec.path))
            return make_error(ErrorClass::NotFound, "split.target_missing", spec.path + " does not exist");
        auto db = open_ledger_file(spec.path, spec.partition, plan_.durable);
        if (!db) return db.error();
        auto seq = get_meta(*db, "split_switch_seq");
        if (!seq) return seq.error();
        auto epoch = get_meta(*db, "split_from_epoch");
        if (!epoch) return epoch.error();
        auto t = std::make_unique<Target>();
        auto number = [](const std::string& text, int64_t& out) {
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
            return ec == std::errc() && end == text.data() + text.size() && !text.empty();
        };
        if (!number(*seq, t->switch_seq) || !number(*epoch, from_epoch))
            return make_error(ErrorClass::Rejected, "split.no_switch_point", spec.path + " records no switch point");
        t->spec = spec;
        t->db.emplace(std::move(db.value()));
        targets.push_back(std::move(t));
    }
    auto before = maps_.at_epoch(from_epoch);
    if (!before) return before.error();
    before_ = *before;
    source_.emplace(std::move(source.value()));
    targets_ = std::move(targets);
    {
        std::lock_guard lock(progress_mu_);
        progress_.phase = SplitPhase::Switched;
        progress_.from_epoch = from_epoch;
        progress_.to_epoch = current->epoch;
    }
    step("attached");
    return {};
}

Result<std::string> recover_split(const SplitPlan& plan, PartitionMapStore& maps) {
    auto current = maps.current();
    if (!current) return current.error();
    auto with_file = [&](const std::string& path, const std::string& partition,
                         const std::function<Result<void>(sql::Db&)>& fn) -> Result<void> {
        if (!std::filesystem::exists(path)) return {};
        auto db = open_ledger_file(path, partition, plan.durable);
        if (!db) return db.error();
        return db->transaction([&]() -> Result<void> { return fn(*db); });
    };
    std::string names;
    for (const auto& t : plan.targets) names += (names.empty() ? "" : ", ") + t.partition;
    if (routes_to_targets(*current, plan)) {
        if (auto r = with_file(plan.source_path, plan.source, [&](sql::Db& db) -> Result<void> {
                auto fenced = get_meta(db, "fenced");
                if (!fenced) return fenced.error();
                if (!fenced->empty()) return {};
                return set_meta(db, "fenced", "split into " + names + " (recovered at map epoch " + std::to_string(current->epoch) + ")");
            });
            !r)
            return r.error();
        for (const auto& t : plan.targets) {
            if (!std::filesystem::exists(t.path))
                return make_error(ErrorClass::Internal, "split.target_missing",
                                  "the map names " + t.partition + " but " + t.path + " does not exist");
            if (auto r = with_file(t.path, t.partition, [](sql::Db& db) { return unfence(db); }); !r) return r.error();
        }
        return std::string("switched");
    }
    auto source_owns = [&](const PartitionMap& m) {
        for (const auto& t : plan.targets)
            for (const auto& p : t.provinces) {
                auto it = m.partition_of_province.find(p);
                if (it == m.partition_of_province.end() || it->second != plan.source) return false;
            }
        return true;
    };
    if (!source_owns(*current))
        return make_error(ErrorClass::Rejected, "split.unknown_state",
                          "the map of epoch " + std::to_string(current->epoch) + " names neither " + plan.source +
                              " nor the split's targets for their provinces");
    bool was_switched = false;
    for (int64_t e = current->epoch - 1; e >= 1 && !was_switched; --e) {
        auto m = maps.at_epoch(e);
        if (!m) return m.error();
        was_switched = routes_to_targets(*m, plan);
    }
    if (was_switched) {  // a rollback: the targets stay, fenced; the source takes writes
        for (const auto& t : plan.targets)
            if (auto r = with_file(t.path, t.partition, [&](sql::Db& db) {
                    return set_meta(db, "fenced", "rolled back into " + plan.source + " (recovered)");
                });
                !r)
                return r.error();
        if (auto r = with_file(plan.source_path, plan.source, [](sql::Db& db) { return unfence(db); }); !r) return r.error();
        return std::string("rolled_back");
    }
    for (const auto& t : plan.targets) remove_ledger_file(t.path);
    return std::string("aborted");
}

}  // namespace hisgate::ledger
