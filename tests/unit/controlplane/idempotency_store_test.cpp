// Retries are safe (issue 12 item 7): Idempotency-Keys and order request ids, on a real
// SQLite file; time stepped by a ManualClock.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "controlplane/idempotency_store.h"
#include "controlplane/task_results.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane;
using namespace std::chrono_literals;

namespace {
struct Keys {
    std::string dir = test::make_temp_dir("hisgate-idempotency");
    ManualClock clock;
    IdempotencyRetention retention;
    std::unique_ptr<IdempotencyStore> store;
    explicit Keys(IdempotencyRetention r = {}) : retention(r) { reopen(); }
    ~Keys() { std::system(("rm -rf " + dir).c_str()); }
    void reopen() {
        store.reset();
        auto opened = open_sqlite_idempotency_store(dir + "/results.db", clock, retention);
        REQUIRE(opened.ok());
        store = std::move(opened.value());
    }
    IdempotencyClaim claim(const std::string& key, const std::string& fingerprint, const std::string& id,
                           const std::string& caller = "patient:P1") {
        auto c = store->claim({caller, "POST /api/v1/hospitals/H001/appointments", key}, fingerprint, id);
        REQUIRE(c.ok());
        return *c;
    }
};
}  // namespace

TEST_CASE("idempotency keys: a repeat gets the first request id, another body is refused") {
    Keys k;
    auto first = k.claim("k1", "body-a", "req-1");
    CHECK(first.request_id == "req-1");
    CHECK_FALSE(first.replay);
    auto again = k.claim("k1", "body-a", "req-2");
    CHECK(again.request_id == "req-1");
    CHECK(again.replay);
    auto other = k.store->claim({"patient:P1", "POST /api/v1/hospitals/H001/appointments", "k1"}, "body-b", "req-3");
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code == "idempotency.key_reused");
    CHECK(other.error().cls == ErrorClass::Rejected);
    // Scoped to the caller and the route.
    CHECK_FALSE(k.claim("k1", "body-b", "req-4", "patient:P2").replay);
    auto elsewhere = k.store->claim({"patient:P1", "POST /api/v1/hospitals/H002/appointments", "k1"}, "body-b", "req-5");
    REQUIRE(elsewhere.ok());
    CHECK(elsewhere->request_id == "req-5");
}

TEST_CASE("idempotency keys: kept across a restart for the retention, and no more than max_kept") {
    Keys k({.keep = 24h, .max_kept = 3});
    k.claim("k1", "f", "req-1");
    k.reopen();  // a control plane restart
    CHECK(k.claim("k1", "f", "req-9").request_id == "req-1");
    k.clock.advance(24h + 1ms);
    // Past the retention the key is new again.
    auto renewed = k.claim("k1", "f", "req-2");
    CHECK(renewed.request_id == "req-2");
    CHECK_FALSE(renewed.replay);
    for (int i = 2; i <= 5; ++i) {
        k.clock.advance(1s);
        k.claim("k" + std::to_string(i), "f", "req-k" + std::to_string(i));
    }
    REQUIRE(k.store->purge().value() == 2);  // five kept, three allowed: the two oldest go
    CHECK_FALSE(k.claim("k1", "f", "new-1").replay);
    CHECK(k.claim("k5", "f", "x").request_id == "req-k5");
}

TEST_CASE("idempotency keys: of many racing claims of one key, one wins and all get its id") {
    Keys k;
    std::vector<std::string> got(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] { got[i] = k.claim("race", "f", "req-" + std::to_string(i)).request_id; });
    for (auto& t : threads) t.join();
    CHECK(std::set<std::string>(got.begin(), got.end()).size() == 1);
}

TEST_CASE("idempotency keys: a key is 1 to 255 characters of A-Z a-z 0-9 - _ . :") {
    CHECK(valid_idempotency_key("a"));
    CHECK(valid_idempotency_key("550e8400-e29b-41d4-a716-446655440000"));
    CHECK(valid_idempotency_key("order:7_v1.2"));
    CHECK(valid_idempotency_key(std::string(255, 'k')));
    CHECK_FALSE(valid_idempotency_key(std::string(256, 'k')));
    CHECK_FALSE(valid_idempotency_key(""));
    CHECK_FALSE(valid_idempotency_key("a b"));
    CHECK_FALSE(valid_idempotency_key("a/b"));
    CHECK_FALSE(valid_idempotency_key("\xe4\xb8\xad"));
}

TEST_CASE("order request ids: the same order is the same id, across restarts, and only with the store's secret") {
    Keys k;
    auto id = k.store->order_request_id("H001", "appointment.book", "P1", "O-1");
    CHECK(id.size() == 32);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(k.store->order_request_id("H001", "appointment.book", "P1", "O-1") == id);
    // Another patient, hospital, type or order: another id (no patient reaches another's task).
    std::set<std::string> ids = {id,
                                 k.store->order_request_id("H001", "appointment.book", "P2", "O-1"),
                                 k.store->order_request_id("H002", "appointment.book", "P1", "O-1"),
                                 k.store->order_request_id("H001", "payment.pay", "P1", "O-1"),
                                 k.store->order_request_id("H001", "appointment.book", "P1", "O-2"),
                                 k.store->order_request_id("H001", "appointment.book", "P1O", "-1")};
    CHECK(ids.size() == 6);
    k.reopen();
    CHECK(k.store->order_request_id("H001", "appointment.book", "P1", "O-1") == id);
    // Another store (another secret) derives another id: the id cannot be computed from the order alone.
    Keys elsewhere;
    CHECK(elsewhere.store->order_request_id("H001", "appointment.book", "P1", "O-1") != id);
}

TEST_CASE("task results: a request id expected twice is one request, and its waiter sees its answer") {
    std::string dir = test::make_temp_dir("hisgate-results");
    ManualClock clock;
    auto results = TaskResults::open(dir + "/results.db", clock).value();
    auto request = Envelope::make("appointment.book", "H001", {{"orderId", "O-1"}});
    REQUIRE(results->expect(request).value());
    CHECK_FALSE(results->expect(request).value());  // a retry with the same id changes nothing
    CHECK_FALSE(results->wait_finished(request.id, 0ms)->finished());

    std::optional<TaskResult> seen;
    std::thread waiter([&] { seen = results->wait_finished(request.id, 1h); });
    auto reply = request.reply({{"status", "booked"}});
    REQUIRE(results->record("H001", reply, reply.to_json()).ok());
    waiter.join();  // woken by the answer, not by the clock (which never moves here)
    REQUIRE(seen);
    CHECK(seen->finished());
    CHECK(seen->outcome().value()["status"] == "booked");

    // A request that never left is forgotten: its id can be sent anew.
    auto unsent = Envelope::make("appointment.book", "H001", {{"orderId", "O-2"}});
    REQUIRE(results->expect(unsent).value());
    REQUIRE(results->forget(unsent.id).ok());
    CHECK_FALSE(results->find(unsent.id));
    CHECK(results->expect(unsent).value());
    std::system(("rm -rf " + dir).c_str());
}
