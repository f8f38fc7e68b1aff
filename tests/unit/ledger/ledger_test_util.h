// Helpers shared by the ledger's tests.
#pragma once

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/random_id.h"
#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/ledger_store.h"
#include "controlplane/ledger/partition_map.h"
#include "tests/support/process.h"

namespace hisgate::ledger::test_util {

// A well-formed resident ID card of `province`, born 1990-01-01, sequence `seq`.
inline std::string id_card(const std::string& province, int seq = 123) {
    std::string first17 = province + "0102" + "19900101" + std::to_string(100 + seq % 900);
    return first17 + id_card_check_char(first17);
}

inline TransactionIntent intent(std::string id = new_id(), int64_t fen = 1250) {
    TransactionIntent in;
    in.id = std::move(id);
    in.kind = TxKind::Payment;
    in.hospital_id = "H001";
    in.patient_id = "P-000123";
    in.amount_fen = fen;
    in.purpose = "outpatient";
    in.epoch = 1;
    in.deadline_ms = 60'000;
    return in;
}

// A payment of a patient from `province` (the province the split routes it by).
inline TransactionIntent intent_in(const std::string& province, int64_t fen = 1250) {
    TransactionIntent in = intent(new_id(), fen);
    in.province = province;
    return in;
}

// The confirmer's ports, recording what it sends (the HIS and the provider are not part of
// the ledger; their answers are fed back by the test).
struct RecordingHis : HisPort {
    std::vector<std::string> sent;  // "change:<id>", "probe:<id>", "revoke:<id>"
    void send_change(const Transaction& t) override { sent.push_back("change:" + t.intent.id); }
    void probe(const Transaction& t) override { sent.push_back("probe:" + t.intent.id); }
    void revoke(const Transaction& t) override { sent.push_back("revoke:" + t.intent.id); }
    // Set: the hospital's agent is offline since then (the fleet registry's word).
    std::optional<int64_t> away;
    std::optional<int64_t> away_since(const Transaction&) override { return away; }
    int count(const std::string& what) const { return static_cast<int>(std::count(sent.begin(), sent.end(), what)); }
};

struct RecordingProvider : PaymentPort {
    std::vector<std::string> sent;
    void close(const std::string& id) override { sent.push_back("close:" + id); }
    void refund(const std::string& id, int64_t) override { sent.push_back("refund:" + id); }
    void refund_correction(const std::string& id, const std::string& order_id, int64_t) override {
        sent.push_back("refund:" + id + ":of:" + order_id);
    }
    int count(const std::string& what) const { return static_cast<int>(std::count(sent.begin(), sent.end(), what)); }
};

inline Move move(const std::string& id, TxState to, std::string evidence = "test:evidence") {
    Move m;
    m.id = id;
    m.to = to;
    m.evidence = std::move(evidence);
    return m;
}

// A real store whose commits fail (the disk refused them: nothing stored, the outer error)
// while `failing` says so of the batch; everything else goes to the real one.
struct FailingWritesStore : LedgerStore {
    explicit FailingWritesStore(LedgerStore& real) : real(real) {}
    LedgerStore& real;
    std::function<bool(const std::vector<Command>&)> failing = [](const std::vector<Command>&) { return false; };
    int failed = 0;
    const std::string& partition() const override { return real.partition(); }
    Result<std::vector<Result<Transaction>>> apply(const std::vector<Command>& commands, int64_t now_ms) override {
        if (!failing(commands)) return real.apply(commands, now_ms);
        ++failed;
        return make_error(ErrorClass::Internal, "sqlite.ioerr", "disk I/O error (injected by the test)");
    }
    Result<std::optional<Transaction>> get(const std::string& id) override { return real.get(id); }
    Result<std::vector<Transaction>> unfinished() override { return real.unfinished(); }
    Result<std::vector<Transaction>> in_state(TxState state, int limit) override { return real.in_state(state, limit); }
    Result<std::vector<Transaction>> of_patient(const std::string& patient_id, int limit) override {
        return real.of_patient(patient_id, limit);
    }
    Result<std::vector<Transaction>> all() override { return real.all(); }
    Result<std::vector<Transaction>> corrections_of(const std::string& id) override { return real.corrections_of(id); }
    Result<std::vector<Entry>> history(const std::string& id) override { return real.history(id); }
    std::unique_ptr<WriteHold> hold_writes() override { return real.hold_writes(); }
};

// Whether a batch moves something to `to`.
inline bool batch_moves_to(const std::vector<Command>& commands, TxState to) {
    return std::any_of(commands.begin(), commands.end(), [to](const Command& c) {
        const auto* m = std::get_if<Move>(&c);
        return m && m->to == to;
    });
}

// A partition's ledger on a real SQLite file in a fresh directory, a Confirmer over it with
// recording ports, and a manual clock: what the confirmer's tests drive.
struct ConfirmerRig {
    explicit ConfirmerRig(const std::string& prefix) : path(test::make_temp_dir(prefix) + "/ledger-south.db") {}
    std::string path;
    std::unique_ptr<LedgerStore> store = open_sqlite_ledger_store(path, "south").value();
    ManualClock clock;
    RecordingHis his;
    RecordingProvider provider;
    ConfirmerOptions options{.max_probes = 3};
    std::unique_ptr<Confirmer> confirmer = std::make_unique<Confirmer>(*store, clock, his, provider, options);

    TxState state(const std::string& id) { return store->get(id).value()->state; }
    void step(std::chrono::milliseconds d) {
        clock.advance(d);
        confirmer->tick();
    }
    // A new process on the same file: the confirmer rebuilt from the store.
    bool restart() {
        confirmer = std::make_unique<Confirmer>(*store, clock, his, provider, options);
        return bool(confirmer->resume());
    }
};

}  // namespace hisgate::ledger::test_util
