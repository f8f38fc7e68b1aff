// The ledger store on real SQLite files: the transition table at the store's boundary, the
// fence rules, creates and their retries, bad input, and durability across reopening.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <thread>

#include "common/sqlite.h"
#include "controlplane/ledger/money.h"
#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using test_util::intent;
using test_util::move;

namespace {

std::unique_ptr<LedgerStore> open_store(const std::string& path, const std::string& partition = "south") {
    auto store = open_sqlite_ledger_store(path, partition);
    REQUIRE(store);
    return std::move(store.value());
}

std::string temp_db(const char* name) { return test::make_temp_dir(name) + "/ledger-south.db"; }

// A legal path from CREATED to each state (REJECTED: `held` says whether money was held).
std::vector<TxState> path_to(TxState s, bool held) {
    using S = TxState;
    switch (s) {
        case S::Created: return {};
        case S::Held: return {S::Held};
        case S::Dispatched: return {S::Held, S::Dispatched};
        case S::InDoubt: return {S::Held, S::Dispatched, S::InDoubt};
        case S::Confirmed: return {S::Held, S::Dispatched, S::Confirmed};
        case S::Posted: return {S::Held, S::Dispatched, S::Confirmed, S::Posted};
        case S::Rejected: return held ? std::vector<S>{S::Held, S::Rejected} : std::vector<S>{S::Rejected};
        case S::Voided: return {S::Rejected, S::Voided};
        case S::Refunded: return {S::Held, S::Rejected, S::Refunded};
    }
    return {};
}

const std::vector<TxState> kAll = {TxState::Created,   TxState::Held,   TxState::Dispatched,
                                   TxState::InDoubt,   TxState::Confirmed, TxState::Posted,
                                   TxState::Rejected,  TxState::Voided, TxState::Refunded};

}  // namespace

TEST_CASE("ledger store: every legal transition is accepted and every illegal one refused, changing nothing") {
    auto store = open_store(temp_db("ledger-transitions"));
    int legal = 0, illegal = 0;
    for (TxState from : kAll) {
        for (TxState to : kAll) {
            // REJECTED → REFUNDED needs held money, REJECTED → VOIDED needs none.
            bool held = !(from == TxState::Rejected && to == TxState::Voided);
            auto in = intent();
            REQUIRE(store->apply_one(Create{in}, 1));
            for (TxState step : path_to(from, held)) REQUIRE(store->apply_one(move(in.id, step), 2));
            auto before = store->history(in.id);
            REQUIRE(before);
            auto r = store->apply_one(move(in.id, to), 3);
            INFO(to_string(from) << " -> " << to_string(to));
            if (transition_allowed(from, to)) {
                ++legal;
                REQUIRE(r);
                CHECK(r->state == to);
                CHECK(store->get(in.id).value()->state == to);
            } else {
                ++illegal;
                REQUIRE_FALSE(r);
                CHECK(r.error().code == "ledger.illegal_transition");
                CHECK(r.error().message.find(std::string(to_string(from)) + " -> " + std::string(to_string(to))) !=
                      std::string::npos);
                CHECK(store->get(in.id).value()->state == from);
                CHECK(store->history(in.id)->size() == before->size());
            }
        }
    }
    CHECK(legal == 12);
    CHECK(illegal == 81 - 12);
    for (TxState t : {TxState::Posted, TxState::Voided, TxState::Refunded}) CHECK(allowed_from(t).empty());
}

TEST_CASE("ledger store: leaving DISPATCHED or IN_DOUBT needs evidence - refund only of held money, void only without") {
    auto store = open_store(temp_db("ledger-evidence"));
    auto in = intent();
    REQUIRE(store->apply_one(Create{in}, 1));
    REQUIRE(store->apply_one(move(in.id, TxState::Held, ""), 2));  // before dispatch no evidence is needed
    REQUIRE(store->apply_one(move(in.id, TxState::Dispatched, ""), 3));
    auto bare = store->apply_one(move(in.id, TxState::InDoubt, ""), 4);
    REQUIRE_FALSE(bare);
    CHECK(bare.error().code == "ledger.evidence_required");
    REQUIRE(store->apply_one(move(in.id, TxState::InDoubt, "reply:lost"), 4));
    CHECK(store->apply_one(move(in.id, TxState::Confirmed, ""), 5).error().code == "ledger.evidence_required");
    auto t = store->apply_one(move(in.id, TxState::Confirmed, "probe:committed"), 5);
    REQUIRE(t);
    CHECK(t->attempts == 1);
    CHECK(t->funds_held);

    auto unheld = intent();
    REQUIRE(store->apply_one(Create{unheld}, 1));
    REQUIRE(store->apply_one(move(unheld.id, TxState::Rejected), 2));
    CHECK(store->apply_one(move(unheld.id, TxState::Refunded), 3).error().code == "ledger.refund_without_funds");
    auto held = intent();
    REQUIRE(store->apply_one(Create{held}, 1));
    REQUIRE(store->apply_one(move(held.id, TxState::Held), 2));
    REQUIRE(store->apply_one(move(held.id, TxState::Rejected), 2));
    CHECK(store->apply_one(move(held.id, TxState::Voided), 3).error().code == "ledger.void_with_funds");
    auto moved_by = move(held.id, TxState::Refunded);
    moved_by.actor = "";
    CHECK(store->apply_one(moved_by, 3).error().code == "ledger.actor_required");
    auto expected = move(held.id, TxState::Refunded);
    expected.expect_from = TxState::InDoubt;
    CHECK(store->apply_one(expected, 3).error().code == "ledger.state_changed");
}

TEST_CASE("ledger store: fence rules — a cancel before dispatch refuses the later dispatch - an early cancel refuses the create") {
    auto store = open_store(temp_db("ledger-fences"));
    auto in = intent();
    REQUIRE(store->apply_one(Create{in}, 1));
    REQUIRE(store->apply_one(move(in.id, TxState::Held), 2));
    auto cancelled = store->apply_one(Cancel{in.id, "patient cancelled"}, 3);
    REQUIRE(cancelled);
    CHECK(cancelled->state == TxState::Rejected);
    CHECK(cancelled->cancelled);
    auto late = store->apply_one(move(in.id, TxState::Dispatched), 4);
    REQUIRE_FALSE(late);
    CHECK(late.error().code == "ledger.fenced");
    CHECK(store->apply_one(Cancel{in.id, "again"}, 5));  // a repeated cancel answers the same

    // The cancel comes before the create (reordered): it is kept as a fence.
    auto early = intent();
    auto fence = store->apply_one(Cancel{early.id, "cancel overtook create"}, 1);
    REQUIRE(fence);
    CHECK_FALSE(fence->exists);
    auto create = store->apply_one(Create{early}, 2);
    REQUIRE_FALSE(create);
    CHECK(create.error().code == "ledger.fenced");
    CHECK_FALSE(store->get(early.id).value().has_value());

    // A confirm (or any move) for an unknown transaction is refused.
    auto unknown = store->apply_one(move(test_util::intent().id, TxState::Confirmed, "reply:committed"), 1);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().cls == ErrorClass::NotFound);
    CHECK(unknown.error().code == "ledger.unknown_transaction");

    // After dispatch the hospital may hold it: a cancel is refused, the outcome settles it.
    auto sent = intent();
    REQUIRE(store->apply_one(Create{sent}, 1));
    REQUIRE(store->apply_one(move(sent.id, TxState::Held), 2));
    REQUIRE(store->apply_one(move(sent.id, TxState::Dispatched), 3));
    CHECK(store->apply_one(Cancel{sent.id, "too late"}, 4).error().code == "ledger.cancel_after_dispatch");
    REQUIRE(store->apply_one(move(sent.id, TxState::Confirmed, "reply:committed"), 5));
    CHECK(store->apply_one(Cancel{sent.id, "later"}, 6).error().code == "ledger.already_settled");
}

TEST_CASE("ledger store: a create retried with the same fields answers the stored one - other fields are refused") {
    auto store = open_store(temp_db("ledger-create"));
    auto in = intent();
    REQUIRE(store->apply_one(Create{in}, 1));
    REQUIRE(store->apply_one(move(in.id, TxState::Held), 2));
    auto again = store->apply_one(Create{in}, 3);
    REQUIRE(again);
    CHECK(again->state == TxState::Held);
    auto other = in;
    other.amount_fen = 1251;
    auto reused = store->apply_one(Create{other}, 4);
    REQUIRE_FALSE(reused);
    CHECK(reused.error().code == "ledger.id_reused");
    CHECK(reused.error().message.find("another amount") != std::string::npos);
    other = in;
    other.patient_id = "P-999";
    CHECK(store->apply_one(Create{other}, 4).error().message.find("another patientId") != std::string::npos);
    CHECK(store->get(in.id).value()->intent.amount_fen == 1250);
    CHECK(store->history(in.id)->size() == 2);
}

TEST_CASE("ledger store: bad input is refused with a clear error and changes nothing") {
    auto store = open_store(temp_db("ledger-bad-input"));
    struct Case {
        std::function<void(TransactionIntent&)> spoil;
        const char* code;
        const char* says;
    };
    std::vector<Case> cases = {
        {[](auto& i) { i.amount_fen = -100; }, "ledger.bad_amount", "negative"},
        {[](auto& i) { i.amount_fen = 0; }, "ledger.bad_amount", "zero"},
        {[](auto& i) { i.amount_fen = kMaxAmountFen + 1; }, "ledger.bad_amount", "cap"},
        {[](auto& i) { i.currency = "USD"; }, "ledger.bad_currency", "CNY"},
        {[](auto& i) { i.patient_id = "P/1"; }, "ledger.bad_patient_id", "patientId"},
        {[](auto& i) { i.patient_id = ""; }, "ledger.bad_patient_id", "patientId"},
        {[](auto& i) { i.id = "ORDER-1"; }, "ledger.bad_transaction_id", "hex"},
        {[](auto& i) { i.hospital_id = ""; }, "ledger.bad_hospital_id", "hospitalId"},
        {[](auto& i) { i.corrects = "0123456789abcdef0123456789abcdef"; }, "ledger.bad_correction", "not a settled"},
    };
    for (auto& c : cases) {
        auto in = intent();
        c.spoil(in);
        auto r = store->apply_one(Create{in}, 1);
        INFO(c.code);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == c.code);
        CHECK(r.error().message.find(c.says) != std::string::npos);
        CHECK(r.error().message.find("P-000123") == std::string::npos);  // no patient id in an error
    }
    CHECK(store->all()->empty());
}

TEST_CASE("ledger store: a correction is a new transaction naming a settled one - history is append-only") {
    auto store = open_store(temp_db("ledger-correction"));
    auto in = intent();
    REQUIRE(store->apply_one(Create{in}, 1));
    for (auto s : {TxState::Held, TxState::Dispatched, TxState::Confirmed, TxState::Posted})
        REQUIRE(store->apply_one(move(in.id, s), 2));
    auto fix = intent();
    fix.corrects = in.id;
    fix.purpose = "correction: overcharge";
    REQUIRE(store->apply_one(Create{fix}, 3));
    CHECK(store->get(in.id).value()->state == TxState::Posted);
    auto h = store->history(in.id);
    REQUIRE(h->size() == 5);
    CHECK(h->back().to_state == "POSTED");
}

TEST_CASE("ledger store: a file is only ever opened as its own partition - reopening keeps everything") {
    std::string path = temp_db("ledger-reopen");
    std::vector<std::string> ids;
    {
        auto store = open_store(path);
        for (int i = 0; i < 20; ++i) {
            auto in = intent();
            ids.push_back(in.id);
            REQUIRE(store->apply_one(Create{in}, i));
            REQUIRE(store->apply_one(move(in.id, TxState::Held), i));
            if (i % 2) REQUIRE(store->apply_one(move(in.id, TxState::Dispatched), i));
            if (i % 4 == 1) REQUIRE(store->apply_one(move(in.id, TxState::InDoubt, "reply:late"), i));
            if (i % 4 == 1) REQUIRE(store->apply_one(ScheduleProbe{in.id, 2, 9000}, i));
        }
    }
    auto wrong = open_sqlite_ledger_store(path, "north");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == "ledger.wrong_partition");
    auto store = open_store(path);
    CHECK(store->all()->size() == 20);
    CHECK(store->unfinished()->size() == 20);
    auto doubt = store->in_state(TxState::InDoubt, 100);
    REQUIRE(doubt->size() == 5);
    CHECK(doubt->front().probes == 2);
    CHECK(doubt->front().next_probe_ms == 9000);
    auto manual = store->apply_one(ToManual{doubt->front().intent.id, "6 probes unanswered"}, 10);
    REQUIRE(manual);
    CHECK(manual->manual);
    CHECK(store->apply_one(ToManual{ids[0], "x"}, 10).error().code == "ledger.not_in_doubt");
    CHECK(store->apply_one(ScheduleProbe{ids[0], 1, 1}, 10).error().code == "ledger.not_in_doubt");
}

TEST_CASE("ledger store: a file from before provinces were stored is migrated; its old rows have none, new ones keep theirs") {
    std::string path = test::make_temp_dir("ledger-migrate") + "/ledger-south.db";
    auto old = test_util::intent();
    {
        // The transactions table as it was before the partition split needed the province.
        auto raw = sql::Db::open(path);
        REQUIRE(raw);
        REQUIRE(raw->exec(
            "CREATE TABLE transactions(id TEXT PRIMARY KEY, kind TEXT NOT NULL, hospital_id TEXT NOT NULL, patient_id TEXT NOT NULL,"
            " amount_fen INTEGER NOT NULL, currency TEXT NOT NULL, purpose TEXT NOT NULL, epoch INTEGER NOT NULL,"
            " deadline_ms INTEGER NOT NULL, corrects TEXT NOT NULL, state TEXT NOT NULL, funds_held INTEGER NOT NULL,"
            " cancelled INTEGER NOT NULL, attempts INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
            " dispatched_ms INTEGER NOT NULL, probes INTEGER NOT NULL, next_probe_ms INTEGER NOT NULL, manual INTEGER NOT NULL)"));
        auto put = raw->prepare("INSERT INTO transactions VALUES (?1,'payment','H001','P-000123',1250,'CNY','outpatient',1,0,'',"
                                "'CREATED',0,0,0,1,1,0,0,0,0)");
        REQUIRE(put);
        put->bind(1, old.id);
        REQUIRE(put->run());
    }
    auto store = open_sqlite_ledger_store(path, "south");
    REQUIRE(store);
    auto before = (*store)->get(old.id);
    REQUIRE(before.value());
    CHECK(before.value()->intent.province.empty());
    auto fresh = test_util::intent_in("44");
    REQUIRE((*store)->apply_one(Create{fresh}, 2));
    CHECK((*store)->get(fresh.id).value()->intent.province == "44");
    auto bad = test_util::intent_in("99");
    CHECK((*store)->apply_one(Create{bad}, 3).error().code == "ledger.bad_province");
}

TEST_CASE("ledger store: a write hold lets another connection lock the file at once while writers commit back to back, and none commits under it") {
    std::string path = temp_db("ledger-write-hold");
    auto store = open_store(path);
    std::atomic<bool> stop{false};
    std::atomic<int> refused{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w)
        writers.emplace_back([&] {
            while (!stop)
                if (!store->apply_one(Create{test_util::intent()}, 1)) ++refused;
        });
    auto other = sql::Db::open(path);
    REQUIRE(other);
    sqlite3_busy_timeout(other->handle(), 0);  // no polling: the lock is free now, or refused
    auto rows = [&] {
        auto s = other->prepare("SELECT count(*) FROM transactions");
        REQUIRE(s);
        REQUIRE(s->step());
        return s->integer(0);
    };
    REQUIRE(test::eventually([&] { return rows() >= 100; }, std::chrono::seconds(10)));
    int64_t last = 0;
    for (int round = 0; round < 30; ++round) {
        {
            auto hold = store->hold_writes();
            REQUIRE(other->exec("BEGIN IMMEDIATE"));
            int64_t held = rows();
            REQUIRE(other->exec("ROLLBACK"));
            CHECK(rows() == held);  // nothing committed while held
            CHECK(held >= last);
            last = held;
        }
        REQUIRE(test::eventually([&] { return rows() > last; }, std::chrono::seconds(10)));  // the writers go on
    }
    stop = true;
    for (auto& t : writers) t.join();
    CHECK(refused == 0);
}
