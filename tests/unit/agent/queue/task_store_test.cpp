// The task store on a real SQLite file: durable admission, one task per id, answers and
// outbox rows written together, and group commit.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <sqlite3.h>

#include "agent/task_store.h"
#include "common/sqlite.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::agent;

namespace {
Task task_named(const std::string& id, TaskClass cls = TaskClass::RealTime) {
    Task t;
    t.id = id;
    t.type = cls == TaskClass::RealTime ? "payment.pay" : "report.get";
    t.cls = cls;
    t.request = "{\"id\": \"" + id + "\"}";
    t.reply_topic = "hisgate/v1/hospitals/H1/response/cp1";
    t.correlation = "corr-" + id;
    t.created_ms = unix_ms_now();
    t.next_attempt_ms = t.created_ms;
    return t;
}

std::unique_ptr<TaskStore> open_store(const std::string& path, TaskStoreOptions o = {}) {
    auto store = TaskStore::open(path, o);
    REQUIRE(store);
    return std::move(store.value());
}
}  // namespace

TEST_CASE("task store: an admitted task survives reopening, a second admission of its id finds it") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        auto store = open_store(path);
        auto first = store->admit_sync(task_named("T1"));
        REQUIRE(first);
        CHECK(first->fresh);
        auto again = store->admit_sync(task_named("T1"));
        REQUIRE(again);
        CHECK_FALSE(again->fresh);
        CHECK(again->state == TaskState::Queued);
    }
    auto store = open_store(path);
    auto unfinished = store->unfinished();
    REQUIRE(unfinished);
    REQUIRE(unfinished->size() == 1);
    const Task& t = unfinished->front();
    CHECK(t.id == "T1");
    CHECK(t.type == "payment.pay");
    CHECK(t.correlation == "corr-T1");
    CHECK(t.attempts == 0);
}

TEST_CASE("task store: the attempt count is stored before a dispatch, and a finished task answers its duplicate") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    auto store = open_store(path);
    auto admitted = store->admit_sync(task_named("T1"));
    REQUIRE(admitted);
    Task t1 = task_named("T1");
    t1.row = admitted->row;
    REQUIRE(store->wait([&](TaskStore::Done d) { store->dispatched(t1.row, 1, d); }));
    auto unfinished = store->unfinished();
    REQUIRE(unfinished->size() == 1);
    CHECK(unfinished->front().state == TaskState::Dispatched);
    CHECK(unfinished->front().attempts == 1);

    REQUIRE(store->wait([&](TaskStore::Done d) { store->finish(t1.row, TaskState::Done, "{\"answer\": 1}", "", true, d); }));
    CHECK(store->unfinished()->empty());
    auto dup = store->admit_sync(task_named("T1"));
    REQUIRE(dup);
    CHECK_FALSE(dup->fresh);
    CHECK(dup->state == TaskState::Done);
    CHECK(dup->answer == "{\"answer\": 1}");
    // The answer waits in the outbox, written in the same transaction as the finish.
    auto rows = store->outbox_after(0, 10);
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().message.topic == "hisgate/v1/hospitals/H1/response/cp1");
    CHECK(rows->front().message.payload == "{\"answer\": 1}");
    CHECK(rows->front().message.correlation == "corr-T1");
}

TEST_CASE("task store: the outbox keeps its order and is trimmed only up to what was forwarded") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    auto store = open_store(path);
    for (int i = 0; i < 5; ++i)
        REQUIRE(store->wait([&](TaskStore::Done d) {
            store->append_outbox({"t", "m" + std::to_string(i), "", ""}, d);
        }));
    auto rows = store->outbox_after(0, 100);
    REQUIRE(rows->size() == 5);
    for (int i = 0; i < 5; ++i) CHECK((*rows)[i].message.payload == "m" + std::to_string(i));
    REQUIRE(store->wait([&](TaskStore::Done d) { store->forwarded_through((*rows)[2].seq, d); }));
    auto left = store->outbox_after(0, 100);
    REQUIRE(left->size() == 2);
    CHECK(left->front().message.payload == "m3");
    CHECK(store->outbox_size().value() == 2);
}

TEST_CASE("task store: group commit lets concurrent changes share commits, one commit each without it") {
    for (bool group : {true, false}) {
        std::string path = test::make_temp_dir("store") + "/agent.db";
        auto store = open_store(path, {.group_commit = group});
        constexpr int kThreads = 8, kEach = 50;
        std::vector<std::thread> threads;
        std::atomic<int> failed{0};  // Catch's assertions are not for other threads
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < kEach; ++i)
                    if (!store->admit_sync(task_named(std::to_string(t) + "-" + std::to_string(i)))) ++failed;
            });
        for (auto& th : threads) th.join();
        CHECK(failed == 0);
        INFO("group commit " << group << ": " << store->commits() << " commits");
        CHECK(store->unfinished()->size() == kThreads * kEach);
        if (group)
            CHECK(store->commits() < kThreads * kEach);
        else
            CHECK(store->commits() == kThreads * kEach);
    }
}

TEST_CASE("task store: outbox seq never goes back while the store runs, even when the outbox empties") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    auto store = open_store(path);
    auto append = [&](const std::string& payload) {
        REQUIRE(store->wait([&](TaskStore::Done d) { store->append_outbox({"t", payload, "", ""}, d); }));
    };
    append("a");
    append("b");
    auto rows = store->outbox_after(0, 10);
    REQUIRE(rows->size() == 2);
    int64_t last = rows->back().seq;
    REQUIRE(store->wait([&](TaskStore::Done d) { store->forwarded_through(last, d); }));
    CHECK(store->outbox_size().value() == 0);
    append("c");  // the forwarder asks for rows after the last seq it sent: it must see this one
    auto after = store->outbox_after(last, 10);
    REQUIRE(after->size() == 1);
    CHECK(after->front().message.payload == "c");
    CHECK(after->front().seq > last);
}

TEST_CASE("task store: a finished task is purged only once its answer has left the outbox") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    auto store = open_store(path);
    Task t = task_named("T1");
    auto admitted = store->admit_sync(t);
    REQUIRE(admitted);
    t.row = admitted->row;
    REQUIRE(store->wait([&](TaskStore::Done d) { store->finish(t.row, TaskState::Done, "{\"answer\": 1}", "", true, d); }));
    int64_t later = unix_ms_now() + 60000;
    REQUIRE(store->wait([&](TaskStore::Done d) { store->purge_finished(later, d); }));
    // Still waiting to be forwarded: the task, its answer and its id stay.
    auto rows = store->outbox_after(0, 10);
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().message.payload == "{\"answer\": 1}");
    CHECK_FALSE(store->admit_sync(task_named("T1"))->fresh);
    REQUIRE(store->wait([&](TaskStore::Done d) { store->forwarded_through(rows->front().seq, d); }));
    REQUIRE(store->wait([&](TaskStore::Done d) { store->purge_finished(later, d); }));
    CHECK(store->admit_sync(task_named("T1"))->fresh);  // forgotten: a new task
}

TEST_CASE("task store: a version 1 state file is rewritten with its tasks, answers and outbox intact") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        // The schema the agent wrote before rows and state codes (session 2's release).
        auto db = sql::Db::open(path);
        REQUIRE(db);
        REQUIRE(db->exec(R"(
CREATE TABLE tasks(id TEXT PRIMARY KEY, type TEXT NOT NULL, class TEXT NOT NULL, request TEXT NOT NULL,
  reply_topic TEXT NOT NULL, correlation BLOB NOT NULL, traceparent TEXT NOT NULL, state TEXT NOT NULL,
  attempts INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, finished_ms INTEGER,
  last_error TEXT NOT NULL DEFAULT '', answer TEXT NOT NULL DEFAULT '');
CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
  correlation BLOB NOT NULL, traceparent TEXT NOT NULL);
INSERT INTO tasks VALUES('Q1', 'report.get', 'deferred', '{}', 'r/t', 'c1', '', 'queued', 0, 5, 1, NULL, '', '');
INSERT INTO tasks VALUES('D1', 'payment.pay', 'realtime', '{}', 'r/t', 'c2', '', 'dispatched', 2, 5, 2, NULL, 'his.down', '');
INSERT INTO tasks VALUES('F1', 'payment.pay', 'realtime', '{}', 'r/t', 'c3', '', 'done', 1, 5, 3, 9, '', '{"ok":1}');
INSERT INTO outbox(seq, topic, payload, correlation, traceparent) VALUES(7, 'r/t', '{"ok":1}', 'c3', '');
)"));
    }
    auto store = open_store(path);
    auto unfinished = store->unfinished();
    REQUIRE(unfinished);
    REQUIRE(unfinished->size() == 2);
    CHECK(unfinished->at(0).id == "Q1");
    CHECK(unfinished->at(0).state == TaskState::Queued);
    CHECK(unfinished->at(0).cls == TaskClass::Deferred);
    CHECK(unfinished->at(1).id == "D1");
    CHECK(unfinished->at(1).state == TaskState::Dispatched);
    CHECK(unfinished->at(1).attempts == 2);
    CHECK(unfinished->at(1).last_error == "his.down");
    CHECK(unfinished->at(1).row > 0);
    auto dup = store->admit_sync(task_named("F1"));
    CHECK(dup->state == TaskState::Done);
    CHECK(dup->answer == "{\"ok\":1}");
    auto rows = store->outbox_after(0, 10);
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().seq == 7);
    CHECK(rows->front().message.payload == "{\"ok\":1}");
    // A new answer goes after the migrated row.
    REQUIRE(store->wait([&](TaskStore::Done d) { store->append_outbox({"t", "new", "", ""}, d); }));
    CHECK(store->outbox_after(7, 10)->front().message.payload == "new");
}

TEST_CASE("task store: a state file from a newer release is refused, not rewritten") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        auto db = sql::Db::open(path);
        REQUIRE(db);
        REQUIRE(db->exec("PRAGMA user_version = 99"));
    }
    auto store = TaskStore::open(path);
    REQUIRE_FALSE(store);
    CHECK_THAT(store.error().message, Catch::Contains("schema version 99"));
}

TEST_CASE("task store: a newer release's additive schema is used as it is, one that needs a newer reader is refused") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        auto store = open_store(path);
        REQUIRE(store->admit_sync(task_named("T1")));
    }
    // What a release with schema 4 would do to the file on its trial: a new table, a new
    // column with a default, the version raised, the oldest reader kept at 3.
    auto migrate_to_4 = [&](int min_reader) {
        auto db = sql::Db::open(path);
        REQUIRE(db);
        REQUIRE(db->exec("BEGIN; CREATE TABLE IF NOT EXISTS task_notes(task_row INTEGER PRIMARY KEY, note TEXT NOT NULL); "
                         "INSERT OR REPLACE INTO task_notes VALUES(1, 'kept'); "
                         "UPDATE store_format SET min_reader = " + std::to_string(min_reader) + "; PRAGMA user_version = 4; COMMIT;"));
    };
    migrate_to_4(3);
    {
        auto db = sql::Db::open(path);
        REQUIRE(db);
        REQUIRE(db->exec("ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 7"));
    }
    {
        // This agent (schema 3) resumes the task the trial accepted and admits new ones.
        auto store = open_store(path);
        auto unfinished = store->unfinished();
        REQUIRE(unfinished);
        REQUIRE(unfinished->size() == 1);
        CHECK(unfinished->front().id == "T1");
        REQUIRE(store->admit_sync(task_named("T2")));
    }
    {
        // ...and leaves the newer release's parts as they were.
        auto db = sql::Db::open(path);
        REQUIRE(db);
        auto q = db->prepare("SELECT (SELECT user_version FROM pragma_user_version), (SELECT note FROM task_notes), "
                             "(SELECT group_concat(priority) FROM tasks)");
        REQUIRE(q);
        REQUIRE(q->step());
        CHECK(q->integer(0) == 4);
        CHECK(q->text(1) == "kept");
        CHECK(q->text(2) == "7,7");
    }
    // A change older code would break raises the oldest reader: refused, untouched.
    migrate_to_4(4);
    auto refused = TaskStore::open(path);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().cls == ErrorClass::Config);
    CHECK_THAT(refused.error().message, Catch::Contains("schema version 4") && Catch::Contains("schema 4 or newer") &&
                                            Catch::Contains("knows up to 3"));
}

TEST_CASE("task store: a newer file whose store_format.min_reader is not a positive integer is refused, naming the file and the value") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        auto store = open_store(path);
        REQUIRE(store->admit_sync(task_named("T1")));
    }
    // A newer release's file (schema 4, additive) whose format row was damaged, written with
    // the sqlite3 API itself; read as a number each would be 0, and 0 <= 3 would open it.
    auto damage = [&](const char* value) {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
        const std::string sql = std::string("UPDATE store_format SET min_reader = ") + value + "; PRAGMA user_version = 4;";
        char* err = nullptr;
        const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        INFO((err ? err : ""));
        sqlite3_free(err);
        sqlite3_close(db);
        REQUIRE(rc == SQLITE_OK);
    };
    struct Damage {
        const char* stored;
        const char* shown;
    };
    for (const Damage d : {Damage{"'three'", "'three' (text)"}, Damage{"0", "0 (integer)"}, Damage{"-2", "-2 (integer)"},
                           Damage{"3.5", "3.5 (real)"}}) {
        damage(d.stored);
        auto refused = TaskStore::open(path);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().cls == ErrorClass::Config);
        CHECK(refused.error().code == "queue.open_failed");  // as every open's error (queue.bad_store_format inside)
        CHECK_THAT(refused.error().message, Catch::StartsWith("task queue " + path + ": ") &&
                                                Catch::Contains(std::string("store_format.min_reader is ") + d.shown) &&
                                                Catch::Contains("expected a positive integer"));
    }
    // Mended, the same newer file opens again (its min_reader allows this agent).
    damage("3");
    auto store = TaskStore::open(path);
    REQUIRE(store);
    REQUIRE((*store)->unfinished()->size() == 1);
}

TEST_CASE("task store: a state file that cannot be created is an error naming it") {
    auto store = TaskStore::open("/nonexistent-dir/agent.db");
    REQUIRE_FALSE(store);
    CHECK(store.error().code == "queue.open_failed");
    CHECK_THAT(store.error().message, Catch::Contains("/nonexistent-dir/agent.db"));
}

TEST_CASE("task store: a row with a state or class this version does not know is an error, never a task to run") {
    std::string path = test::make_temp_dir("store") + "/agent.db";
    {
        auto store = open_store(path);
        REQUIRE(store->admit_sync(task_named("T1")));
    }
    for (auto [edit, named] : {std::pair{"UPDATE tasks SET state = 7", "tasks.state 7"},
                               std::pair{"UPDATE tasks SET state = 0, class = 'urgent'", "tasks.class \"urgent\""}}) {
        {
            auto db = sql::Db::open(path);
            REQUIRE(db);
            REQUIRE(db->exec(edit));
        }
        auto store = open_store(path);
        auto unfinished = store->unfinished();
        REQUIRE_FALSE(unfinished);  // before: state 7 read as Queued, class 'urgent' as real-time
        CHECK(unfinished.error().code == "queue.corrupt_row");
        CHECK_THAT(unfinished.error().message, Catch::Contains(named));
        if (std::string(edit).find("state = 7") != std::string::npos) {
            auto again = store->admit_sync(task_named("T1"));  // a duplicate finds the damaged row
            REQUIRE_FALSE(again);
            CHECK(again.error().code == "queue.corrupt_row");
        }
    }
}
