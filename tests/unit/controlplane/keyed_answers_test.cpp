// Idempotency-Keys on money requests (issue 15 item 3): the stored answer, a mismatch naming
// the first differing field, a key still running, a takeover after the lease, retention;
// on a real SQLite file, time stepped by a ManualClock.
#include <catch2/catch.hpp>

#include "controlplane/money/keyed_answers.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane::money;
using namespace std::chrono_literals;

namespace {
struct Answers {
    std::string dir = test::make_temp_dir("hisgate-keyed-answers");
    ManualClock clock;
    KeyedAnswerRetention retention;
    std::unique_ptr<KeyedAnswers> store;
    explicit Answers(KeyedAnswerRetention r = {}) : retention(r) { reopen(); }
    ~Answers() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        store.reset();
        auto opened = open_sqlite_keyed_answers(dir + "/results.db", clock, retention);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
};

KeyedRequest payment(const std::string& key, const std::string& amount = "\"12.50\"",
                     const std::string& caller = "patient:P1") {
    return {caller, "POST /api/v1/payments", key,
            {{"hospitalId", "\"H001\""}, {"patientId", "\"P1\""}, {"amount", amount}, {"currency", "\"CNY\""},
             {"purpose", "\"outpatient\""}, {"idCard", ""}, {"phone", ""}}};
}
}  // namespace

TEST_CASE("money keys: the first answer is stored and a repeat gets it, a failure included") {
    Answers a;
    auto first = a.store->begin(payment("k1"), "tx-1");
    REQUIRE(first.ok());
    CHECK_FALSE(first->replay);
    CHECK(first->resource_id == "tx-1");
    REQUIRE(a.store->finish(payment("k1"), 201, R"({"transactionId":"tx-1"})").ok());
    auto again = a.store->begin(payment("k1"), "tx-2");
    REQUIRE(again.ok());
    CHECK(again->replay);
    CHECK(again->resource_id == "tx-1");
    CHECK(again->status == 201);
    CHECK(again->body == R"({"transactionId":"tx-1"})");

    // A refusal is the answer too: the same intent again gets it, not a second try.
    REQUIRE(a.store->begin(payment("k2", "\"-1\""), "tx-3").ok());
    REQUIRE(a.store->finish(payment("k2", "\"-1\""), 400, R"({"code":"ledger.bad_amount"})").ok());
    auto refused = a.store->begin(payment("k2", "\"-1\""), "tx-4");
    REQUIRE(refused.ok());
    CHECK(refused->replay);
    CHECK(refused->status == 400);

    // Survives a restart.
    a.reopen();
    auto after = a.store->begin(payment("k1"), "tx-5");
    REQUIRE(after.ok());
    CHECK(after->replay);
    CHECK(after->resource_id == "tx-1");
}

TEST_CASE("money keys: another field with the same key is refused, naming the first field that differs") {
    Answers a;
    REQUIRE(a.store->begin(payment("k1"), "tx-1").ok());
    REQUIRE(a.store->finish(payment("k1"), 201, "{}").ok());
    auto other = a.store->begin(payment("k1", "\"13.00\""), "tx-2");
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code == "idempotency.mismatch");
    CHECK(other.error().cls == ErrorClass::Rejected);
    CHECK(other.error().message.find("amount") != std::string::npos);
    CHECK(other.error().message.find("13.00") == std::string::npos);  // never the value

    auto both = payment("k1", "\"13.00\"");
    both.fields[0].second = "\"H002\"";
    auto first_named = a.store->begin(both, "tx-3");
    REQUIRE_FALSE(first_named.ok());
    CHECK(first_named.error().message.find("hospitalId") != std::string::npos);
}

TEST_CASE("money keys: a key whose first request still runs is 409-class, then taken over after the lease") {
    KeyedAnswerRetention r;
    r.lease = 60s;
    Answers a(r);
    REQUIRE(a.store->begin(payment("k1"), "tx-1").ok());
    auto busy = a.store->begin(payment("k1"), "tx-2");
    REQUIRE_FALSE(busy.ok());
    CHECK(busy.error().code == "idempotency.in_progress");
    // Its instance died: after the lease a retry runs again, with the same transaction id.
    a.clock.advance(61s);
    auto taken = a.store->begin(payment("k1"), "tx-3");
    REQUIRE(taken.ok());
    CHECK_FALSE(taken->replay);
    CHECK(taken->resource_id == "tx-1");
    // and holds it for its own lease
    auto again = a.store->begin(payment("k1"), "tx-4");
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == "idempotency.in_progress");
}

TEST_CASE("money keys: scoped to the caller and the route, kept for the retention, bounded in number") {
    KeyedAnswerRetention r;
    r.keep = 24h;
    r.max_kept = 3;
    Answers a(r);
    REQUIRE(a.store->begin(payment("k1"), "tx-1").ok());
    REQUIRE(a.store->finish(payment("k1"), 201, "{}").ok());
    // Another patient with the same key is another request.
    auto theirs = a.store->begin(payment("k1", "\"12.50\"", "patient:P2"), "tx-2");
    REQUIRE(theirs.ok());
    CHECK_FALSE(theirs->replay);
    auto refund = payment("k1");
    refund.route = "POST /api/v1/payments/tx-1/refund";
    auto on_other_route = a.store->begin(refund, "tx-1");
    REQUIRE(on_other_route.ok());
    CHECK_FALSE(on_other_route->replay);

    a.clock.advance(24h + 1s);
    auto fresh = a.store->begin(payment("k1"), "tx-9");
    REQUIRE(fresh.ok());
    CHECK_FALSE(fresh->replay);
    CHECK(fresh->resource_id == "tx-9");

    for (int i = 0; i < 5; ++i) {
        a.clock.advance(1s);
        REQUIRE(a.store->begin(payment("many-" + std::to_string(i)), "tx-m" + std::to_string(i)).ok());
    }
    auto purged = a.store->purge();
    REQUIRE(purged.ok());
    CHECK(*purged >= 3);
}

TEST_CASE("money keys: a key released (nothing was created: the hospital offline) runs again as new; an answered key is kept") {
    Answers a;
    REQUIRE(a.store->begin(payment("k-away"), "tx-1").ok());
    REQUIRE(a.store->release(payment("k-away")).ok());
    auto again = a.store->begin(payment("k-away"), "tx-2");  // not "in progress": a first request
    REQUIRE(again.ok());
    CHECK_FALSE(again->replay);
    CHECK(again->resource_id == "tx-2");
    REQUIRE(a.store->finish(payment("k-away"), 201, R"({"transactionId":"tx-2"})").ok());
    REQUIRE(a.store->release(payment("k-away")).ok());  // answered: kept
    auto replay = a.store->begin(payment("k-away"), "tx-3");
    REQUIRE(replay.ok());
    CHECK(replay->replay);
    CHECK(replay->resource_id == "tx-2");
}
