// The live partition split on real SQLite files: writers on threads keep writing through
// group commit while `south` splits into `south-a` (44, 45) and `south-b` (the rest); every
// acknowledged change ends in exactly one target; a stale verification, an overlong freeze,
// a write to the fenced source are refused; a rollback brings the targets' changes back; an
// IN_DOUBT transaction keeps its probe schedule; a kill -9 at any step leaves the old map
// or the new one with complete targets.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "controlplane/ledger/confirmer.h"
#include "controlplane/ledger/group_commit.h"
#include "controlplane/ledger/partition_split.h"
#include "ledger_test_util.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::ledger;
using namespace std::chrono_literals;
using test_util::intent_in;

namespace {

std::vector<std::string> south_provinces() {
    std::vector<std::string> out;
    for (const auto& [province, partition] : initial_partition_map().partition_of_province)
        if (partition == "south") out.push_back(province);
    return out;
}

SplitPlan south_plan(const std::string& dir) {
    SplitPlan plan;
    plan.source = "south";
    plan.source_path = dir + "/ledger-south.db";
    SplitTarget a{"south-a", {"44", "45"}, dir + "/ledger-south-a.db"};
    SplitTarget b{"south-b", {}, dir + "/ledger-south-b.db"};
    for (const auto& p : south_provinces())
        if (!a.provinces.contains(p)) b.provinces.insert(p);
    plan.targets = {a, b};
    return plan;
}

std::string target_of(const std::string& province) { return province == "44" || province == "45" ? "south-a" : "south-b"; }

struct SplitFixture {
    std::string dir = test::make_temp_dir("ledger-split");
    SplitPlan plan = south_plan(dir);
    std::unique_ptr<PartitionMapStore> maps = open_sqlite_partition_map_store(dir + "/maps.db").value();
    std::unique_ptr<LedgerStore> source = open_sqlite_ledger_store(plan.source_path, "south").value();
    ManualClock clock;

    std::unique_ptr<LedgerStore> open(const std::string& partition) {
        return open_sqlite_ledger_store(dir + "/ledger-" + partition + ".db", partition).value();
    }
    // A payment of `province` carried to `to` on the source.
    std::string payment(const std::string& province, TxState to = TxState::Held, int64_t fen = 1250) {
        auto in = intent_in(province, fen);
        REQUIRE(source->apply_one(Create{in}, clock.wall_ms()));
        if (to != TxState::Created) REQUIRE(source->apply_one(test_util::move(in.id, to), clock.wall_ms()));
        return in.id;
    }
};

// As the ledger service does: the source's writers in this process wait at the store while
// the split locks its file, so they cannot starve the freeze's BEGIN IMMEDIATE (SQLite's
// busy handler polls with back-off; writers committing back to back win every poll).
SplitOptions holding_writers_of(LedgerStore& source) {
    SplitOptions options;
    options.hold_writers = [&source](const std::vector<std::string>&) {
        std::vector<std::unique_ptr<WriteHold>> holds;
        holds.push_back(source.hold_writes());
        return holds;
    };
    return options;
}

std::map<std::string, Transaction> by_id(LedgerStore& store) {
    std::map<std::string, Transaction> out;
    auto all = store.all();
    REQUIRE(all);
    for (auto& t : *all) out.emplace(t.intent.id, t);
    return out;
}

}  // namespace

TEST_CASE("partition split: a plan must give each of the source's provinces to exactly one new partition") {
    SplitFixture f;
    auto map = initial_partition_map();
    CHECK(f.plan.check(map));
    auto missing = f.plan;
    missing.targets[1].provinces.erase("31");
    CHECK(missing.check(map).error().message.find("province 31 of south is given to no target") != std::string::npos);
    auto foreign = f.plan;
    foreign.targets[0].provinces.insert("11");
    CHECK(foreign.check(map).error().message.find("is not south's") != std::string::npos);
    auto existing = f.plan;
    existing.targets[0].partition = "north";
    CHECK(existing.check(map).error().code == "split.bad_plan");
}

TEST_CASE("partition split: with writers on threads, every acknowledged change is in exactly one target and the sums match") {
    SplitFixture f;
    const auto provinces = south_provinces();
    // The router the writers share: partition name → its committer; the map's epoch.
    std::mutex mu;
    std::condition_variable routed;
    int64_t epoch = 1;
    std::map<std::string, GroupCommitter*> committer_of;
    GroupCommitter source_committer(*f.source, f.clock);
    committer_of["south"] = &source_committer;
    std::map<std::string, std::pair<TxState, TransactionIntent>> acknowledged;  // id → last acknowledged state
    std::atomic<int> moved_refusals{0};
    std::atomic<bool> stop{false};
    std::atomic<int> after_switch{0};
    std::atomic<int> failures{0};

    auto submit = [&](const Command& c, const std::string& province) -> Result<Transaction> {
        for (;;) {
            GroupCommitter* committer;
            int64_t seen;
            {
                std::lock_guard lock(mu);
                seen = epoch;
                committer = committer_of[epoch == 1 ? "south" : target_of(province)];
            }
            auto r = committer->submit_sync(c);
            if (r || r.error().code != "ledger.partition_moved") return r;
            ++moved_refusals;
            std::unique_lock lock(mu);  // the split switched under us: wait for the new map, then re-route
            routed.wait(lock, [&] { return epoch > seen; });
        }
    };
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0; !stop || i < 20; ++i) {
                auto in = intent_in(provinces[(w * 7 + i) % provinces.size()], 100 + i);
                // Catch2's assertions are for the test's thread: failures are counted here.
                if (!submit(Create{in}, in.province)) {
                    ++failures;
                    continue;
                }
                TxState last = TxState::Created;
                if (i % 3 != 0) {
                    if (!submit(test_util::move(in.id, TxState::Held), in.province)) ++failures;
                    else last = TxState::Held;
                }
                std::lock_guard lock(mu);
                acknowledged[in.id] = {last, in};
                if (epoch > 1) ++after_switch;
            }
        });

    PartitionSplit split(f.plan, *f.maps, f.clock, holding_writers_of(*f.source));
    REQUIRE(test::eventually([&] { std::lock_guard lock(mu); return acknowledged.size() >= 200; }));
    REQUIRE(split.start());
    for (int i = 0; i < 3; ++i) REQUIRE(split.catch_up());
    auto report = split.freeze_and_switch();
    REQUIRE(report);
    CHECK(report->epoch == 2);
    CHECK(report->verification.ok);
    CHECK(split.progress().phase == SplitPhase::Switched);
    CHECK(split.progress().freeze_ms >= 0);
    auto a = f.open("south-a"), b = f.open("south-b");
    GroupCommitter ca(*a, f.clock), cb(*b, f.clock);
    {
        std::lock_guard lock(mu);
        committer_of["south-a"] = &ca;
        committer_of["south-b"] = &cb;
        epoch = 2;
    }
    routed.notify_all();
    REQUIRE(test::eventually([&] { return after_switch >= 100; }));
    stop = true;
    for (auto& w : writers) w.join();
    CHECK(failures == 0);
    CHECK(moved_refusals >= 0);  // how many writers the switch caught mid-flight: any number is fine

    CHECK(f.maps->current()->partition_of_province.at("44") == "south-a");
    CHECK(f.maps->current()->partition_of_province.at("31") == "south-b");
    auto in_a = by_id(*a), in_b = by_id(*b);
    std::map<std::string, int64_t> acked_sum, stored_sum;
    for (const auto& [id, ack] : acknowledged) {
        INFO(id);
        const auto& [state, in] = ack;
        bool at_a = in_a.contains(id), at_b = in_b.contains(id);
        REQUIRE(at_a != at_b);  // exactly one
        CHECK((at_a ? "south-a" : "south-b") == target_of(in.province));
        CHECK((at_a ? in_a : in_b).at(id).state == state);
        acked_sum[target_of(in.province)] += in.amount_fen;
    }
    for (auto* m : {&in_a, &in_b})
        for (const auto& [id, t] : *m) {
            CHECK(acknowledged.contains(id));  // nothing unacknowledged appeared
            stored_sum[target_of(t.intent.province)] += t.intent.amount_fen;
        }
    CHECK(in_a.size() + in_b.size() == acknowledged.size());
    CHECK(acked_sum == stored_sum);

    // The source is kept, read-only: a write to it is refused, saying where it went.
    auto refused = f.source->apply_one(Create{intent_in("44")}, f.clock.wall_ms());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "ledger.partition_moved");
    CHECK(refused.error().message.find("south-a, south-b") != std::string::npos);
    CHECK(f.source->all()->size() <= acknowledged.size());  // still readable
    auto json = split.progress().to_json();
    CHECK(json["phase"] == "switched");
    CHECK(json.contains("freezeMs"));
}

TEST_CASE("partition split: a verification older than the switch point is refused") {
    SplitFixture f;
    for (int i = 0; i < 20; ++i) f.payment(i % 2 ? "44" : "31");
    PartitionSplit split(f.plan, *f.maps, f.clock);
    REQUIRE(split.start());
    auto before = split.verify();
    REQUIRE(before);
    CHECK(before->ok);
    f.payment("44");  // a change after that verification
    REQUIRE(split.freeze());
    auto stale = split.switch_over(*before);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == "split.stale_verification");
    CHECK(split.progress().phase == SplitPhase::Frozen);  // refused, not aborted: verify again
    CHECK(f.maps->current()->epoch == 1);
    auto fresh = split.verify();
    REQUIRE(fresh);
    CHECK(fresh->ok);
    CHECK(fresh->source_seq > before->source_seq);
    REQUIRE(split.switch_over(*fresh));
    CHECK(f.maps->current()->epoch == 2);
    CHECK(by_id(*f.open("south-a")).size() == 11);
    CHECK(by_id(*f.open("south-b")).size() == 10);
}

TEST_CASE("partition split: a verification that finds a difference is not ok, and names it") {
    SplitFixture f;
    for (int i = 0; i < 10; ++i) f.payment("44");
    PartitionSplit split(f.plan, *f.maps, f.clock);
    REQUIRE(split.start());
    {  // Someone writes into a target behind the split's back.
        auto a = f.open("south-a");
        REQUIRE(a->apply_one(Create{intent_in("44")}, 1));
    }
    auto v = split.verify();
    REQUIRE(v);
    CHECK_FALSE(v->ok);
    CHECK(v->mismatch.find("south-a") != std::string::npos);
    REQUIRE(split.freeze());
    auto frozen = split.verify();
    REQUIRE(frozen);
    auto refused = split.switch_over(*frozen);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "split.verification_failed");
    CHECK(split.progress().phase == SplitPhase::Aborted);
    CHECK_FALSE(std::filesystem::exists(f.plan.targets[0].path));
    CHECK(f.maps->current()->epoch == 1);
}

TEST_CASE("partition split: a freeze past its bound aborts and rolls back by itself, removing the target files") {
    SplitFixture f;
    for (int i = 0; i < 30; ++i) f.payment(i % 2 ? "44" : "43");
    SplitOptions options;
    // The clock passes the bound while the source is frozen (as a slow disk would make it).
    options.on_step = [&](const SplitProgress& p) {
        if (p.step == "frozen") f.clock.advance(31s);
    };
    PartitionSplit split(f.plan, *f.maps, f.clock, options);
    REQUIRE(split.start());
    CHECK(std::filesystem::exists(f.plan.targets[0].path));
    auto r = split.freeze_and_switch();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "split.freeze_timeout");
    CHECK(r.error().cls == ErrorClass::Timeout);
    CHECK(split.progress().phase == SplitPhase::Aborted);
    for (const auto& t : f.plan.targets) {
        CHECK_FALSE(std::filesystem::exists(t.path));
        CHECK_FALSE(std::filesystem::exists(t.path + "-wal"));
    }
    CHECK(f.maps->current()->epoch == 1);
    // The source was never fenced and takes writes at once.
    CHECK(f.source->apply_one(Create{intent_in("44")}, f.clock.wall_ms()));
}

TEST_CASE("partition split: a rollback after the switch brings the targets' changes back to the source") {
    SplitFixture f;
    std::string moved_later = f.payment("44");
    std::string posted = f.payment("31", TxState::Held);
    PartitionSplit split(f.plan, *f.maps, f.clock);
    REQUIRE(split.start());
    REQUIRE(split.freeze_and_switch());
    auto a = f.open("south-a"), b = f.open("south-b");
    // The targets take changes after the switch: a new transaction, a moved one, a fence.
    auto fresh = intent_in("45");
    REQUIRE(a->apply_one(Create{fresh}, 10));
    REQUIRE(a->apply_one(test_util::move(moved_later, TxState::Dispatched), 11));
    REQUIRE(b->apply_one(test_util::move(posted, TxState::Rejected), 12));
    REQUIRE(b->apply_one(test_util::move(posted, TxState::Refunded), 13));
    std::string fence_id = new_id();
    REQUIRE(b->apply_one(Cancel{fence_id, "cancelled first"}, 14));

    REQUIRE(split.rollback());
    CHECK(split.progress().phase == SplitPhase::RolledBack);
    CHECK(split.progress().streamed_back == 5);
    auto map = f.maps->current();
    CHECK(map->epoch == 3);
    CHECK(map->partition_of_province.at("44") == "south");
    auto in_source = by_id(*f.source);
    CHECK(in_source.at(fresh.id).state == TxState::Created);
    CHECK(in_source.at(moved_later).state == TxState::Dispatched);
    CHECK(in_source.at(posted).state == TxState::Refunded);
    CHECK(f.source->history(moved_later)->size() == 3);  // create, held, dispatched: in order
    // The fence came back too: the create it fences is refused at the source.
    auto fenced = intent_in("31");
    fenced.id = fence_id;
    CHECK(f.source->apply_one(Create{fenced}, 20).error().code == "ledger.fenced");
    // The source takes writes again; the targets are kept, fenced.
    CHECK(f.source->apply_one(test_util::move(moved_later, TxState::Confirmed), 21));
    auto refused = a->apply_one(Create{intent_in("44")}, 22);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "ledger.partition_moved");
    CHECK(split.rollback().error().code == "split.bad_phase");
}

TEST_CASE("partition split: after a restart, a switched split is taken up from its files and rolled back") {
    SplitFixture f;
    std::string id = f.payment("44");
    {
        PartitionSplit split(f.plan, *f.maps, f.clock);
        REQUIRE(split.start());
        REQUIRE(split.freeze_and_switch());
    }  // the process that switched is gone
    {
        auto a = f.open("south-a");
        REQUIRE(a->apply_one(test_util::move(id, TxState::Dispatched), 5));
    }
    PartitionSplit later(f.plan, *f.maps, f.clock);
    REQUIRE(later.attach_switched());
    CHECK(later.progress().phase == SplitPhase::Switched);
    REQUIRE(later.rollback());
    CHECK(f.maps->current()->epoch == 3);
    CHECK(f.source->get(id).value()->state == TxState::Dispatched);
    PartitionSplit again(f.plan, *f.maps, f.clock);
    CHECK(again.attach_switched().error().code == "split.not_switched");
}

TEST_CASE("partition split: an IN_DOUBT transaction moves with its probe schedule and the target's confirmer resumes it") {
    SplitFixture f;
    auto in = intent_in("44");
    int64_t next_probe = f.clock.wall_ms() + 24'000;
    REQUIRE(f.source->apply_one(Create{in}, 1));
    for (TxState s : {TxState::Held, TxState::Dispatched}) REQUIRE(f.source->apply_one(test_util::move(in.id, s), 2));
    REQUIRE(f.source->apply_one(test_util::move(in.id, TxState::InDoubt, "reply:timeout"), 3));
    REQUIRE(f.source->apply_one(ScheduleProbe{in.id, 3, next_probe}, 4));
    // The source's confirmer follows it until the switch (and, left running by mistake,
    // after it).
    test_util::RecordingHis source_his;
    test_util::RecordingProvider source_provider;
    Confirmer source_confirmer(*f.source, f.clock, source_his, source_provider);
    REQUIRE(source_confirmer.resume());
    CHECK(source_confirmer.has_timer(in.id));
    PartitionSplit split(f.plan, *f.maps, f.clock);
    REQUIRE(split.start());
    REQUIRE(split.freeze_and_switch());

    auto a = f.open("south-a"), b = f.open("south-b");
    CHECK_FALSE(b->get(in.id).value());  // in one partition only
    auto moved = a->get(in.id).value();
    REQUIRE(moved);
    CHECK(moved->state == TxState::InDoubt);
    CHECK(moved->probes == 3);
    CHECK(moved->next_probe_ms == next_probe);
    test_util::RecordingHis his;
    test_util::RecordingProvider provider;
    Confirmer confirmer(*a, f.clock, his, provider);
    REQUIRE(confirmer.resume());
    CHECK(confirmer.has_timer(in.id));
    CHECK(confirmer.next_due_ms() == next_probe);  // not restarted from the first probe
    f.clock.advance(std::chrono::milliseconds(next_probe - f.clock.wall_ms()));
    confirmer.tick();
    CHECK(his.count("probe:" + in.id) == 1);
    // The source's confirmer cannot probe it any more: its schedule, stored before a probe
    // leaves, is refused by the fenced source, so only the owner probes.
    source_confirmer.tick();
    CHECK(source_his.count("probe:" + in.id) == 0);
    CHECK(a->get(in.id).value()->probes == 4);
    confirmer.on_probe_answer(in.id, HisStatus::Committed);
    CHECK(a->get(in.id).value()->state == TxState::Posted);
    // The source's copy stays as it was, and refuses the change.
    CHECK(f.source->get(in.id).value()->state == TxState::InDoubt);
}

TEST_CASE("partition split: a split does not start over an existing target file, nor on rows without a province") {
    SplitFixture f;
    f.payment("44");
    {
        std::ofstream(f.plan.targets[1].path) << "not ours";
        PartitionSplit split(f.plan, *f.maps, f.clock);
        CHECK(split.start().error().code == "split.target_exists");
        std::filesystem::remove(f.plan.targets[1].path);
    }
    auto old = test_util::intent();  // a row written before provinces were stored
    REQUIRE(f.source->apply_one(Create{old}, 1));
    PartitionSplit split(f.plan, *f.maps, f.clock);
    auto r = split.start();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == "split.unroutable");
    for (const auto& t : f.plan.targets) CHECK_FALSE(std::filesystem::exists(t.path));
}

// A child process writes through group commit and splits; it is killed at a step.
TEST_CASE("partition split: a kill -9 at any step leaves the old map with the source whole, or the new one with complete targets") {
    for (std::string kill_at : {"caught_up", "frozen", "reverse_checked", "published", "switched"}) {
        DYNAMIC_SECTION("killed at " << kill_at) {
            std::string dir = test::make_temp_dir("ledger-split-kill9");
            SplitPlan plan = south_plan(dir);
            std::string acks = dir + "/acks.txt", marker = dir + "/at.txt", why = dir + "/why.txt";
            const auto provinces = south_provinces();
            pid_t child = fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                auto store = open_sqlite_ledger_store(plan.source_path, "south");
                auto maps = open_sqlite_partition_map_store(dir + "/maps.db");
                if (!store || !maps) _exit(3);
                ManualClock clock;
                GroupCommitter committer(**store, clock);
                int fd = ::open(acks.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
                std::vector<std::thread> writers;
                for (int w = 0; w < 3; ++w)
                    writers.emplace_back([&, w] {
                        for (int i = 0;; ++i) {
                            auto in = intent_in(provinces[(w + i) % provinces.size()]);
                            if (!committer.submit_sync(Create{in})) {
                                ::pause();  // moved: this writer stops
                            }
                            std::string line = in.id + "\n";
                            if (::write(fd, line.data(), line.size()) < 0) _exit(4);
                        }
                    });
                while (::lseek(fd, 0, SEEK_END) < 33 * 300) std::this_thread::sleep_for(1ms);
                // Without the hold, writers committing back to back starved the freeze's
                // BEGIN IMMEDIATE past the busy timeout in CI ("database is locked").
                SplitOptions options = holding_writers_of(**store);
                options.on_step = [&](const SplitProgress& p) {
                    if (p.step != kill_at) return;
                    std::ofstream(marker) << p.step;
                    ::pause();  // the parent kills us here
                };
                PartitionSplit split(plan, **maps, clock, options);
                // A split that stops before its step says why, for the parent to report.
                auto stopped = [&](const Error& e) {
                    std::ofstream(why) << e.describe();
                    _exit(5);
                };
                if (auto r = split.start(); !r) stopped(r.error());
                if (auto r = split.catch_up(); !r) stopped(r.error());
                if (auto r = split.freeze_and_switch(); !r) stopped(r.error());
                ::pause();
                _exit(0);
            }
            int status = 0;
            bool exited = false;
            bool reached = test::eventually(
                [&] {
                    exited = exited || ::waitpid(child, &status, WNOHANG) == child;
                    return exited || std::filesystem::exists(marker);
                },
                60s);
            if (exited || !reached) {
                std::string reason;
                std::getline(std::ifstream(why), reason);
                INFO("the child " << (exited ? "exited with status " + std::to_string(status) : std::string("is still running"))
                                  << " before " << kill_at << ": " << reason);
                if (!exited) {
                    ::kill(child, SIGKILL);
                    ::waitpid(child, &status, 0);
                }
                FAIL("the split did not reach its step");
            }
            ::kill(child, SIGKILL);
            ::waitpid(child, &status, 0);
            REQUIRE(WIFSIGNALED(status));

            auto maps = open_sqlite_partition_map_store(dir + "/maps.db").value();
            auto outcome = recover_split(plan, *maps);
            REQUIRE(outcome);
            bool switched = kill_at == "published" || kill_at == "switched";
            CHECK(*outcome == (switched ? "switched" : "aborted"));
            CHECK(maps->current()->epoch == (switched ? 2 : 1));
            std::set<std::string> acknowledged;
            {
                std::ifstream in(acks);
                std::string id;
                while (std::getline(in, id))
                    if (id.size() == 32) acknowledged.insert(id);
            }
            REQUIRE(acknowledged.size() >= 300);
            auto source = open_sqlite_ledger_store(plan.source_path, "south").value();
            auto in_source = by_id(*source);
            if (!switched) {
                for (const auto& t : plan.targets) CHECK_FALSE(std::filesystem::exists(t.path));
                for (const auto& id : acknowledged) CHECK(in_source.contains(id));
                CHECK(source->apply_one(Create{intent_in("44")}, 1));  // authoritative, writable
            } else {
                auto a = open_sqlite_ledger_store(plan.targets[0].path, "south-a").value();
                auto b = open_sqlite_ledger_store(plan.targets[1].path, "south-b").value();
                auto in_a = by_id(*a), in_b = by_id(*b);
                // Complete: exactly the frozen source, each transaction in its one target.
                CHECK(in_a.size() + in_b.size() == in_source.size());
                for (const auto& [id, t] : in_source) {
                    INFO(id);
                    auto& where = target_of(t.intent.province) == "south-a" ? in_a : in_b;
                    REQUIRE(where.contains(id));
                    CHECK(where.at(id).state == t.state);
                }
                for (const auto& id : acknowledged) CHECK((in_a.contains(id) || in_b.contains(id)));
                CHECK(source->apply_one(Create{intent_in("44")}, 1).error().code == "ledger.partition_moved");
                CHECK(a->apply_one(Create{intent_in("44")}, 1));
            }
        }
    }
}
