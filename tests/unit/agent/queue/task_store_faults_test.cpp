// Faults injected into the task store's own SQLite file: a TEMP trigger on the writer's
// connection makes a chosen outbox insert fail, as a full disk or an I/O error would. The
// store must keep every change all-or-nothing (no Done task without its answer, no task
// lost), commit the other changes of the batch, and report the failure to its caller.
#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "agent/task_store.h"
#include "common/sqlite.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::agent;

namespace {

Task fault_task_named(const std::string& id) {
    Task t;
    t.id = id;
    t.type = "payment.pay";
    t.cls = TaskClass::RealTime;
    t.request = "{}";
    t.reply_topic = "hisgate/v1/hospitals/H1/response/cp1";
    t.correlation = "corr-" + id;
    t.created_ms = unix_ms_now();
    t.next_attempt_ms = t.created_ms;
    return t;
}

// The outcome a change's caller is told, once it is told.
std::future<Result<void>> submitted(const std::function<void(TaskStore::Done)>& change) {
    auto told = std::make_shared<std::promise<Result<void>>>();
    auto outcome = told->get_future();
    change([told](Result<void> r) { told->set_value(std::move(r)); });
    return outcome;
}

// Holds the store's writer inside a change until release(): everything submitted
// meanwhile waits, and then forms exactly one batch (one group commit).
class HeldWriter {
public:
    explicit HeldWriter(TaskStore& store) {
        auto running = std::make_shared<std::promise<void>>();
        auto go = release_.get_future().share();
        held_ = submitted([&](TaskStore::Done d) {
            store.change_for_test(
                [running, go](sql::Db&) -> Result<void> {
                    running->set_value();
                    go.wait();
                    return {};
                },
                d);
        });
        running->get_future().wait();
    }
    ~HeldWriter() {
        if (!released_) release_.set_value();  // a failed REQUIRE must not leave the writer held
    }
    void release() {
        released_ = true;
        release_.set_value();
        REQUIRE(held_.get());
    }

private:
    bool released_ = false;
    std::promise<void> release_;
    std::future<Result<void>> held_;
};

void run_on_writer(TaskStore& store, const std::string& sql_text) {
    auto ran = store.wait([&](TaskStore::Done d) {
        store.change_for_test([sql_text](sql::Db& db) { return db.exec(sql_text); }, d);
    });
    REQUIRE(ran);
}

// The outbox insert that gets seq `when` (or matches another condition) fails; `how` is
// ABORT (the statement fails, the transaction stays open) or ROLLBACK (SQLite rolls the
// whole transaction back, as on SQLITE_FULL or SQLITE_IOERR inside a statement).
void inject(TaskStore& store, const std::string& when, const std::string& how = "ABORT") {
    run_on_writer(store, "CREATE TEMP TRIGGER injected_fault BEFORE INSERT ON outbox WHEN " + when +
                             " BEGIN SELECT RAISE(" + how + ", 'injected fault'); END");
}
void heal(TaskStore& store) { run_on_writer(store, "DROP TRIGGER temp.injected_fault"); }

int64_t count(sql::Db& db, const std::string& query) {
    auto q = db.prepare(query);
    REQUIRE(q);
    REQUIRE(q->step());
    return q->integer(0);
}

// What must hold in the file whatever failed: every finished task that has a reply topic
// has its answer in the outbox, and no task was lost.
void check_invariants(const std::string& path, int64_t tasks) {
    auto db = sql::Db::open(path);
    REQUIRE(db);
    CHECK(count(*db, "SELECT count(*) FROM tasks WHERE state >= 2 AND reply_topic <> '' AND row NOT IN "
                     "(SELECT task_row FROM outbox WHERE task_row IS NOT NULL)") == 0);
    CHECK(count(*db, "SELECT count(*) FROM tasks") == tasks);
}

std::vector<TaskRow> admit_dispatched(TaskStore& store, int n) {
    std::vector<TaskRow> rows;
    for (int i = 0; i < n; ++i) {
        auto admitted = store.admit_sync(fault_task_named("T" + std::to_string(i)));
        REQUIRE(admitted);
        REQUIRE(admitted->fresh);
        rows.push_back(admitted->row);
        REQUIRE(store.wait([&](TaskStore::Done d) { store.dispatched(admitted->row, 1, d); }));
    }
    return rows;
}

// A task store on a file of its own, for one test case.
struct FaultyStore {
    std::string path = test::make_temp_dir("store-faults") + "/agent.db";
    std::unique_ptr<TaskStore> owned;
    FaultyStore() {
        auto opened = TaskStore::open(path);
        REQUIRE(opened);
        owned = std::move(opened.value());
    }
};

Result<void> finish_now(TaskStore& store, TaskRow row) {
    return store.wait([&](TaskStore::Done d) { store.finish(row, TaskState::Done, "answer", "", true, d); });
}

// Finishes of every row and one event, submitted while the writer is held, so they form
// exactly one batch; their outcomes in that order (the event last).
std::vector<std::future<Result<void>>> finish_all_in_one_batch(TaskStore& store, const std::vector<TaskRow>& rows) {
    std::vector<std::future<Result<void>>> outcomes;
    HeldWriter held(store);
    for (TaskRow row : rows)
        outcomes.push_back(submitted([&](TaskStore::Done d) { store.finish(row, TaskState::Done, "answer", "", true, d); }));
    outcomes.push_back(submitted([&](TaskStore::Done d) { store.append_outbox({"t", "event", "", ""}, d); }));
    held.release();
    return outcomes;
}

}  // namespace

TEST_CASE("task store faults: a statement after which SQLite rolled the transaction back fails the whole batch") {
    FaultyStore faulty;
    const std::string& path = faulty.path;
    auto& store = *faulty.owned;
    auto rows = admit_dispatched(store, 4);
    // As SQLITE_FULL inside a statement does: the whole transaction is gone, not just the statement.
    inject(store, "NEW.task_row = " + std::to_string(rows[1]), "ROLLBACK");

    auto outcomes = finish_all_in_one_batch(store, rows);

    // Every change of the batch is reported failed, and none of them committed: nothing
    // went on in autocommit after the rollback.
    for (size_t c = 0; c < outcomes.size(); ++c) {
        INFO("change " << c + 1);
        CHECK_FALSE(outcomes[c].get());
    }
    check_invariants(path, 4);
    auto unfinished = store.unfinished();
    REQUIRE(unfinished);
    CHECK(unfinished->size() == 4);
    CHECK(store.outbox_size().value() == 0);

    // The store goes on: the next batch commits.
    heal(store);
    for (TaskRow row : rows) REQUIRE(finish_now(store, row));
    CHECK(store.unfinished()->empty());
    check_invariants(path, 4);
}

TEST_CASE("task store faults: a change whose outbox insert fails leaves no trace and the others of its batch commit") {
    FaultyStore faulty;
    const std::string& path = faulty.path;
    auto& store = *faulty.owned;
    auto rows = admit_dispatched(store, 4);
    // The statement fails and the transaction stays open, as a constraint or a trigger would.
    for (size_t failing = 0; failing < rows.size(); ++failing) {
        DYNAMIC_SECTION("the answer of task " << failing + 1 << " of 4 cannot be queued") {
            inject(store, "NEW.task_row = " + std::to_string(rows[failing]));
            auto outcomes = finish_all_in_one_batch(store, rows);  // all four finishes and an event

            for (size_t c = 0; c < outcomes.size(); ++c) {
                INFO("change " << c + 1);
                auto outcome = outcomes[c].get();
                CHECK(outcome.ok() == (c != failing));  // the failure reaches its caller, and only its
            }
            check_invariants(path, 4);
            auto unfinished = store.unfinished();
            REQUIRE(unfinished);
            REQUIRE(unfinished->size() == 1);  // the failed task is not lost: it is still to be finished
            CHECK(unfinished->front().row == rows[failing]);
            CHECK(unfinished->front().state == TaskState::Dispatched);
            CHECK(store.outbox_size().value() == 4);  // three answers and the event

            heal(store);
            REQUIRE(finish_now(store, rows[failing]));
            CHECK(store.unfinished()->empty());
            CHECK(store.outbox_size().value() == 5);
            check_invariants(path, 4);
        }
    }
}

TEST_CASE("task store faults: a change to a task that is not there is refused, not counted done") {
    FaultyStore faulty;
    const std::string& path = faulty.path;
    auto& store = *faulty.owned;
    auto rows = admit_dispatched(store, 1);
    TaskRow missing = rows[0] + 1000;
    auto finished = finish_now(store, missing);
    REQUIRE_FALSE(finished);
    CHECK(finished.error().message.find("expected exactly 1") != std::string::npos);
    CHECK_FALSE(store.wait([&](TaskStore::Done d) { store.dispatched(missing, 2, d); }));
    CHECK_FALSE(store.wait([&](TaskStore::Done d) { store.retry_later(missing, 0, "later", d); }));
    CHECK(store.outbox_size().value() == 0);  // no answer of a task that does not exist
    check_invariants(path, 1);
}
