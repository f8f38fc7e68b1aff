// Event sequence gaps (issue 13 item 5): the change-set seqs of each hospital on a real
// SQLite file, repeated and out-of-order arrivals, and event.seq_gap firing only for a gap
// that stays open past the grace, resolving when the missing change sets arrive.
#include <catch2/catch.hpp>

#include "controlplane/alerts/alert_engine.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace hisgate::controlplane::alerts;
using namespace std::chrono_literals;

namespace {
struct Book {
    std::string dir = test::make_temp_dir("hisgate-seq");
    ManualClock clock;
    std::unique_ptr<SequenceBook> book;
    std::unique_ptr<AlertStore> store;
    AlertThresholds thresholds;
    std::unique_ptr<AlertEngine> engine;
    Book() {
        auto b = open_sqlite_sequence_book(dir + "/results.db", clock);
        REQUIRE(b.ok());
        book = std::move(b.value());
        auto s = open_sqlite_alert_store(dir + "/results.db", clock);
        REQUIRE(s.ok());
        store = std::move(s.value());
        thresholds.gap = 60s;
        engine = std::make_unique<AlertEngine>(
            *store, []() -> Result<std::vector<FleetRecord>> { return std::vector<FleetRecord>{}; },
            ProtocolWindow{1, 1}, thresholds, clock);
        engine->add_source([this](int64_t now) -> Result<std::vector<Condition>> {
            auto g = book->gaps();
            if (!g) return g.error();
            return gap_conditions(*g, now, thresholds);
        });
    }
    ~Book() {
        engine.reset();
        store.reset();
        book.reset();
        std::system(("rm -rf " + dir).c_str());
    }
    void arrive(int64_t seq, const std::string& h = "H001") { REQUIRE(book->arrived(h, seq).ok()); }
    std::vector<SequenceGap> gaps() {
        auto g = book->gaps();
        REQUIRE(g.ok());
        return *g;
    }
    RoundResult round() {
        auto r = engine->evaluate();
        REQUIRE(r.ok());
        return *r;
    }
};
}  // namespace

TEST_CASE("sequence gaps: repeated and reordered change sets close, a missing one stays open") {
    Book b;
    b.arrive(5);  // the first starts the count
    b.arrive(6);
    b.arrive(6);  // repeated
    CHECK(b.gaps().empty());
    b.arrive(8);  // 7 not yet
    auto g = b.gaps();
    REQUIRE(g.size() == 1);
    CHECK(g[0].contiguous == 6);
    CHECK(g[0].highest == 8);
    b.arrive(7);  // late, out of order: the gap closes
    CHECK(b.gaps().empty());
    b.arrive(10);
    b.arrive(11);
    REQUIRE(b.gaps().size() == 1);
    CHECK(b.gaps()[0].contiguous == 8);
    b.arrive(1, "H002");
    CHECK(b.gaps().size() == 1);
}

TEST_CASE("alerts: event.seq_gap fires for a gap open past the grace, resolves when it closes, does not flap") {
    Book b;
    b.arrive(1);
    b.arrive(3);
    CHECK(b.round().fired == 0);  // within the grace: may be out of order
    b.clock.advance(61s);
    CHECK(b.round().fired == 1);
    CHECK(b.round().fired == 0);
    b.arrive(4);  // still missing 2: the same alert
    auto again = b.round();
    CHECK(again.fired == 0);
    CHECK(again.resolved == 0);
    b.arrive(2);
    CHECK(b.round().resolved == 1);
    AlertQuery q;
    auto all = b.store->list(q);
    REQUIRE(all.ok());
    REQUIRE(all->size() == 1);
    CHECK((*all)[0].rule == "event.seq_gap");
    CHECK((*all)[0].state == AlertState::Resolved);
}
