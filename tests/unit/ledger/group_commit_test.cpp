// Group commit: many callers share a commit, each is answered only once its batch is on
// disk, and what was answered survives closing, and a kill -9 in the middle of a batch.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "common/sqlite.h"
#include "controlplane/ledger/group_commit.h"
#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using test_util::intent;

TEST_CASE("group commit: many callers share commits, and reopening sees every acknowledged command") {
    std::string path = test::make_temp_dir("ledger-group") + "/ledger-south.db";
    std::mutex mu;
    std::set<std::string> acknowledged;
    uint64_t commits = 0;
    {
        auto store = open_sqlite_ledger_store(path, "south");
        REQUIRE(store);
        ManualClock clock;
        GroupCommitter committer(**store, clock);
        std::vector<std::thread> callers;
        for (int t = 0; t < 8; ++t)
            callers.emplace_back([&] {
                for (int i = 0; i < 100; ++i) {
                    auto in = intent();
                    auto created = committer.submit_sync(Create{in});
                    REQUIRE(created);
                    auto held = committer.submit_sync(test_util::move(in.id, TxState::Held));
                    REQUIRE(held);
                    std::lock_guard lock(mu);
                    acknowledged.insert(in.id);
                }
            });
        for (auto& c : callers) c.join();
        commits = committer.commits();
        CHECK(committer.commands() == 1600);
    }
    CHECK(commits < 1600);  // eight callers at once: batches formed
    auto store = open_sqlite_ledger_store(path, "south");
    REQUIRE(store);
    auto all = (*store)->all();
    REQUIRE(all->size() == 800);
    for (const auto& t : *all) {
        CHECK(acknowledged.contains(t.intent.id));
        CHECK(t.state == TxState::Held);
    }
}

TEST_CASE("group commit: a refused command does not affect the others of its batch") {
    std::string path = test::make_temp_dir("ledger-group-refused") + "/ledger-south.db";
    auto store = open_sqlite_ledger_store(path, "south");
    REQUIRE(store);
    auto a = intent(), b = intent();
    auto outcomes = (*store)->apply({Create{a}, test_util::move(b.id, TxState::Held), Create{b}}, 1);
    REQUIRE(outcomes);
    CHECK((*outcomes)[0]);
    CHECK((*outcomes)[1].error().code == "ledger.unknown_transaction");
    CHECK((*outcomes)[2]);
    CHECK((*store)->all()->size() == 2);
}

TEST_CASE("ledger store: the file itself refuses rewriting history or changing a settled transaction") {
    std::string path = test::make_temp_dir("ledger-triggers") + "/ledger-south.db";
    auto in = intent();
    {
        auto store = open_sqlite_ledger_store(path, "south");
        REQUIRE(store);
        REQUIRE((*store)->apply_one(Create{in}, 1));
        REQUIRE((*store)->apply_one(test_util::move(in.id, TxState::Rejected), 2));
        REQUIRE((*store)->apply_one(test_util::move(in.id, TxState::Voided), 3));
    }
    auto raw = sql::Db::open(path);
    REQUIRE(raw);
    CHECK_FALSE(raw->exec("UPDATE entries SET evidence = 'forged'"));
    CHECK_FALSE(raw->exec("DELETE FROM entries"));
    CHECK_FALSE(raw->exec("UPDATE transactions SET state = 'CREATED'"));
    CHECK_FALSE(raw->exec("DELETE FROM transactions"));
}

TEST_CASE("group commit: after a kill -9 in the middle of batches, every acknowledged command is in the file") {
    std::string dir = test::make_temp_dir("ledger-kill9");
    std::string path = dir + "/ledger-south.db", acks = dir + "/acks.txt";
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child: writers that never stop; each acknowledgement is written (to the page
        // cache, which outlives the process) only after the committer answered it.
        auto store = open_sqlite_ledger_store(path, "south");
        if (!store) _exit(3);
        ManualClock clock;
        GroupCommitter committer(**store, clock);
        int fd = ::open(acks.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        std::vector<std::thread> writers;
        for (int t = 0; t < 4; ++t)
            writers.emplace_back([&] {
                for (;;) {
                    auto in = intent();
                    if (committer.submit_sync(Create{in})) {
                        std::string line = in.id + "\n";
                        if (::write(fd, line.data(), line.size()) < 0) _exit(4);
                    }
                }
            });
        for (auto& w : writers) w.join();
        _exit(0);
    }
    auto lines = [&] {
        std::ifstream in(acks);
        std::string line;
        size_t n = 0;
        while (std::getline(in, line)) ++n;
        return n;
    };
    REQUIRE(test::eventually([&] { return lines() >= 300; }, std::chrono::seconds(30)));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    auto store = open_sqlite_ledger_store(path, "south");
    REQUIRE(store);
    std::set<std::string> stored;
    auto all = (*store)->all();
    REQUIRE(all);
    for (const auto& t : *all) stored.insert(t.intent.id);
    std::ifstream in(acks);
    std::string id;
    size_t checked = 0;
    while (std::getline(in, id)) {
        if (id.size() != 32) continue;  // a line cut by the kill
        ++checked;
        INFO(id);
        CHECK(stored.contains(id));
    }
    CHECK(checked >= 300);
    CHECK(stored.size() >= checked);
}
