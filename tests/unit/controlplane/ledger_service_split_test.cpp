// The operator side of the live partition split in money::LedgerService (docs/ledger.md,
// "Live partition split"), on real SQLite files: writer threads create transactions while
// `south` splits into south-a (44, 45) and south-b; an IN_DOUBT booking keeps probing at its
// new owner and its evidence reaches it; a rollback brings the source back; bad requests
// change nothing; a control plane killed (SIGKILL) mid-split recovers at its next open.
// The hospital is a recording HisPort the test answers (the real one is tested in
// test_ledger_confirmation); payments stay CREATED (nobody pays), which the split moves too.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/random_id.h"
#include "controlplane/money/ledger_service.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;
using controlplane::money::LedgerService;
using controlplane::money::LedgerSettings;
using controlplane::money::SplitRequest;
using ledger::TxState;

namespace {

struct RecordingHis final : ledger::HisPort {
    std::mutex mu;
    std::map<std::string, int> probes;
    void send_change(const ledger::Transaction&) override {}
    void probe(const ledger::Transaction& t) override {
        std::lock_guard lock(mu);
        ++probes[t.intent.id];
    }
    void revoke(const ledger::Transaction&) override {}
    int probes_of(const std::string& id) {
        std::lock_guard lock(mu);
        return probes[id];
    }
};

struct NoProvider final : ledger::PaymentPort {
    void close(const std::string&) override {}
    void refund(const std::string&, int64_t) override {}
    void refund_correction(const std::string&, const std::string&, int64_t) override {}
};

ledger::TransactionIntent intent(ledger::TxKind kind) {
    ledger::TransactionIntent i;
    i.id = new_id();
    i.kind = kind;
    i.hospital_id = "H001";
    i.patient_id = "P-SPLIT";
    i.amount_fen = 1250;
    i.purpose = "outpatient";
    return i;
}

LedgerSettings settings_in(const std::string& dir) {
    LedgerSettings s;
    s.dir = dir;
    s.confirmer = {.reply_timeout = 150ms, .first_probe = 300ms, .probe_cap = 600ms, .retry = 1s, .max_probes = 1000};
    return s;
}

// The south's provinces, 44 and 45 first.
std::vector<std::string> south_provinces() {
    std::vector<std::string> out{"44", "45"};
    for (const auto& [province, partition] : ledger::initial_partition_map().partition_of_province)
        if (partition == "south" && province != "44" && province != "45") out.push_back(province);
    return out;
}

SplitRequest south_split() {
    auto provinces = south_provinces();
    return SplitRequest{"south", {{"south-a", {"44", "45"}}, {"south-b", {provinces.begin() + 2, provinces.end()}}}, {}};
}

std::string owner_of(const std::string& province) { return province == "44" || province == "45" ? "south-a" : "south-b"; }

std::string split_state(LedgerService& svc) {
    auto view = svc.partitions_view();
    return view ? view->split_state : "error";
}

}  // namespace

TEST_CASE("ledger service: south splits while writers create, every acknowledged transaction lands in its province's target, an IN_DOUBT booking keeps probing there, and rollback brings south back") {
    std::string dir = test::make_temp_dir("ledger-service-split") + "/ledgers";
    RecordingHis his;
    NoProvider provider;
    auto opened = LedgerService::open(settings_in(dir), SystemClock::instance(), his, provider);
    REQUIRE(opened);
    auto& svc = **opened;
    svc.start();

    // A booking the hospital never answers: IN_DOUBT, probed.
    auto doubt = svc.create(intent(ledger::TxKind::Booking), {.hospital_province = "44"});
    REQUIRE(doubt);
    const std::string doubt_id = doubt->transaction.intent.id;
    REQUIRE(test::eventually([&] { return his.probes_of(doubt_id) >= 1; }, 5s));
    REQUIRE(svc.find(doubt_id)->transaction.state == TxState::InDoubt);

    const auto provinces = south_provinces();
    std::mutex acked_mu;
    std::map<std::string, std::string> acked;  // id → province
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0; !stop; ++i) {
                const std::string& province = provinces[(w * 7 + i) % provinces.size()];
                auto created = svc.create(intent(ledger::TxKind::Payment), {.hospital_province = province});
                if (!created) {
                    ++failures;
                    UNSCOPED_INFO(created.error().describe());
                    continue;
                }
                std::lock_guard lock(acked_mu);
                acked[created->transaction.intent.id] = province;
            }
        });
    auto acked_count = [&] {
        std::lock_guard lock(acked_mu);
        return acked.size();
    };
    REQUIRE(test::eventually([&] { return acked_count() >= 150; }, 10s));

    // Refusals change nothing.
    auto unknown = svc.start_split({"west", {{"west-a", {"44"}}, {"west-b", {"45"}}}, {}});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == "split.bad_plan");
    auto uncovered = svc.start_split({"south", {{"south-a", {"44"}}, {"south-b", {"45"}}}, {}});
    REQUIRE_FALSE(uncovered);
    CHECK(uncovered.error().code == "split.bad_plan");
    auto taken = south_split();
    taken.targets[1].first = "north";
    auto reused = svc.start_split(taken);
    REQUIRE_FALSE(reused);
    CHECK(reused.error().code == "split.bad_plan");
    CHECK(svc.partitions_view()->split_state.empty());

    auto started = svc.start_split(south_split());
    REQUIRE(started);
    auto again = svc.start_split(south_split());
    REQUIRE_FALSE(again);
    CHECK(again.error().code == "split.running");
    REQUIRE(test::eventually([&] { return split_state(svc) != "running"; }, 20s));
    auto view = svc.partitions_view();
    REQUIRE(view->split_state == "switched");
    CHECK(view->map.epoch == 2);
    CHECK(view->split["freezeMs"].get<int64_t>() >= 0);
    CHECK(svc.partitions() == std::vector<std::string>{"north", "south-a", "south-b"});
    size_t at_switch = acked_count();
    REQUIRE(test::eventually([&] { return acked_count() >= at_switch + 100; }, 10s));
    stop = true;
    for (auto& t : writers) t.join();
    CHECK(failures == 0);

    // Each acknowledged transaction is found once (find refuses one held twice), where its
    // province routes; those made after the switch carry the new epoch.
    int new_epoch = 0;
    for (const auto& [id, province] : acked) {
        auto found = svc.find(id);
        REQUIRE(found);
        CHECK(found->partition == owner_of(province));
        if (found->transaction.intent.epoch == 2) ++new_epoch;
    }
    CHECK(new_epoch >= 100);

    // The IN_DOUBT booking moved with its probes: the target probes it, and its evidence
    // (a probe answer) reaches the target.
    auto moved = svc.find(doubt_id);
    REQUIRE(moved);
    CHECK(moved->partition == "south-a");
    CHECK(moved->transaction.state == TxState::InDoubt);
    int probes_at_switch = his.probes_of(doubt_id);
    REQUIRE(test::eventually([&] { return his.probes_of(doubt_id) > probes_at_switch; }, 5s));
    svc.on_probe_answer(doubt_id, ledger::HisStatus::Committed);
    REQUIRE(test::eventually([&] {
        auto t = svc.find(doubt_id);
        return t && (t->transaction.state == TxState::Confirmed || t->transaction.state == TxState::Posted);
    }, 5s));

    // Rollback: south owns its provinces again, holding everything the targets took.
    auto rolled = svc.rollback_split("south");
    REQUIRE(rolled);
    CHECK(rolled->phase == ledger::SplitPhase::RolledBack);
    CHECK(svc.partitions() == std::vector<std::string>{"north", "south"});
    CHECK(svc.partitions_view()->map.epoch == 3);
    for (const auto& [id, province] : acked) {
        auto found = svc.find(id);
        REQUIRE(found);
        CHECK(found->partition == "south");
    }
    auto settled = svc.find(doubt_id);
    REQUIRE(settled);
    CHECK(settled->partition == "south");
    CHECK(settled->transaction.state != TxState::InDoubt);
    auto after = svc.create(intent(ledger::TxKind::Payment), {.hospital_province = "45"});
    REQUIRE(after);
    CHECK(after->partition == "south");
    auto twice = svc.rollback_split("south");
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == "split.nothing_to_roll_back");
    // The targets' files are kept (fenced) after a rollback: their names are not reused.
    auto reuse = svc.start_split(south_split());
    REQUIRE_FALSE(reuse);
    CHECK(reuse.error().code == "split.target_exists");
    svc.stop();
}

// A control plane (a child process) killed with SIGKILL at a step of the split; the next
// open finds the stored plan and makes the files agree with the map.
TEST_CASE("ledger service: a control plane killed mid-split recovers at its next open (old map before the publish, the targets after it, and rollback still works)") {
    for (std::string kill_at : {"caught_up", "published"}) {
        DYNAMIC_SECTION("killed at " << kill_at) {
            std::string dir = test::make_temp_dir("ledger-service-split-kill") + "/ledgers";
            std::string marker = dir + "-at.txt";
            const auto provinces = south_provinces();
            constexpr int kCreated = 200;
            pid_t child = fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                RecordingHis his;
                NoProvider provider;
                auto settings = settings_in(dir);
                settings.split_on_step = [&](const ledger::SplitProgress& p) {
                    if (p.step != kill_at) return;
                    std::ofstream(marker) << p.step;
                    ::pause();  // the parent kills us here
                };
                auto svc = LedgerService::open(settings, SystemClock::instance(), his, provider);
                if (!svc) _exit(3);
                for (int i = 0; i < kCreated; ++i)
                    if (!(*svc)->create(intent(ledger::TxKind::Payment),
                                        {.hospital_province = provinces[i % provinces.size()]}))
                        _exit(4);
                if (!(*svc)->start_split(south_split())) _exit(5);
                ::pause();
                _exit(0);
            }
            REQUIRE(test::eventually([&] { return std::filesystem::exists(marker); }, 20s));
            ::kill(child, SIGKILL);
            int status = 0;
            ::waitpid(child, &status, 0);
            REQUIRE(WIFSIGNALED(status));

            RecordingHis his;
            NoProvider provider;
            auto opened = LedgerService::open(settings_in(dir), SystemClock::instance(), his, provider);
            REQUIRE(opened);
            auto& svc = **opened;
            bool switched = kill_at == "published";
            auto view = svc.partitions_view();
            REQUIRE(view);
            CHECK(view->map.epoch == (switched ? 2 : 1));
            CHECK(view->split_state == (switched ? "switched" : "aborted"));
            CHECK(svc.partitions() == (switched ? std::vector<std::string>{"north", "south-a", "south-b"}
                                                : std::vector<std::string>{"north", "south"}));
            CHECK(std::filesystem::exists(dir + "/ledger-south-a.db") == switched);
            auto all = svc.created_between(0, INT64_MAX, "");
            REQUIRE(all);
            CHECK(all->size() == kCreated);
            for (const auto& located : *all)
                CHECK(located.partition == (switched ? owner_of(located.transaction.intent.province) : "south"));
            // Writes go where the map says (the source was fenced by the recovery, or never was).
            auto created = svc.create(intent(ledger::TxKind::Payment), {.hospital_province = "45"});
            REQUIRE(created);
            CHECK(created->partition == (switched ? "south-a" : "south"));
            if (switched) {
                auto rolled = svc.rollback_split("south");
                REQUIRE(rolled);
                CHECK(svc.partitions() == std::vector<std::string>{"north", "south"});
                auto everything = svc.created_between(0, INT64_MAX, "");
                REQUIRE(everything);
                CHECK(everything->size() == kCreated + 1);
            }
        }
    }
}

TEST_CASE("ledger service: a split whose freeze passes its bound aborts by itself, leaving the map, the partitions and the source's writes as before") {
    std::string dir = test::make_temp_dir("ledger-service-split-bound") + "/ledgers";
    RecordingHis his;
    NoProvider provider;
    ManualClock clock;
    auto settings = settings_in(dir);
    // Time passes inside the freeze (the clock is the test's): past the 1 s bound.
    settings.split_on_step = [&](const ledger::SplitProgress& p) {
        if (p.step == "frozen") clock.advance(1500ms);
    };
    auto opened = LedgerService::open(settings, clock, his, provider);
    REQUIRE(opened);
    auto& svc = **opened;
    for (int i = 0; i < 20; ++i) REQUIRE(svc.create(intent(ledger::TxKind::Payment), {.hospital_province = "44"}));
    auto request = south_split();
    request.max_freeze = 1s;
    REQUIRE(svc.start_split(request));
    svc.wait_split();
    auto view = svc.partitions_view();
    REQUIRE(view);
    CHECK(view->split_state == "aborted");
    CHECK(view->split.value("error", "").find("split.freeze_timeout") != std::string::npos);
    CHECK(view->map.epoch == 1);
    CHECK(svc.partitions() == std::vector<std::string>{"north", "south"});
    CHECK_FALSE(std::filesystem::exists(dir + "/ledger-south-a.db"));
    CHECK_FALSE(std::filesystem::exists(dir + "/ledger-south-b.db"));
    auto created = svc.create(intent(ledger::TxKind::Payment), {.hospital_province = "44"});
    REQUIRE(created);
    CHECK(created->partition == "south");
    // Nothing was left behind: the same split runs again, and switches.
    settings.split_on_step = nullptr;
    REQUIRE(svc.start_split(south_split()));
    svc.wait_split();
    CHECK(svc.partitions_view()->split_state == "switched");
}

TEST_CASE("ledger service: a probe answer that reaches south while it is frozen for the switch is refused there and delivered again to its new owner") {
    std::string dir = test::make_temp_dir("ledger-service-split-evidence") + "/ledgers";
    RecordingHis his;
    NoProvider provider;
    auto settings = settings_in(dir);
    std::function<void()> on_frozen;
    settings.split_on_step = [&](const ledger::SplitProgress& p) {
        if (p.step == "frozen" && on_frozen) on_frozen();
    };
    auto opened = LedgerService::open(settings, SystemClock::instance(), his, provider);
    REQUIRE(opened);
    auto& svc = **opened;
    svc.start();
    auto doubt = svc.create(intent(ledger::TxKind::Booking), {.hospital_province = "44"});
    REQUIRE(doubt);
    const std::string id = doubt->transaction.intent.id;
    REQUIRE(test::eventually([&] { return his.probes_of(id) >= 1; }, 5s));

    // The answer arrives while south's write lock is held by the split: it waits on it
    // (holding the service's lock), and the fence's commit refuses it.
    std::thread answer;
    on_frozen = [&] {
        answer = std::thread([&] { svc.on_probe_answer(id, ledger::HisStatus::Committed); });
        std::this_thread::sleep_for(300ms);
    };
    REQUIRE(svc.start_split(south_split()));
    svc.wait_split();
    answer.join();
    REQUIRE(svc.partitions_view()->split_state == "switched");
    REQUIRE(test::eventually([&] {
        auto t = svc.find(id);
        return t && t->partition == "south-a" &&
               (t->transaction.state == TxState::Confirmed || t->transaction.state == TxState::Posted);
    }, 3s));
    svc.stop();
}
