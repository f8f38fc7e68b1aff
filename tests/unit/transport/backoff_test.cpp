// The reconnect backoff every MQTT client of hisgate uses (transport/backoff.h).
#include <catch2/catch.hpp>

#include "transport/backoff.h"

using namespace hisgate;
using std::chrono::milliseconds;

TEST_CASE("backoff: full jitter between the minimum and the doubled cap, never above the maximum") {
    std::mt19937 rng{7};
    for (int attempt = 0; attempt < 40; ++attempt) {
        long long cap = std::min<long long>(200LL << std::min(attempt, 16), 5000);
        for (int i = 0; i < 200; ++i) {
            long long w = jittered_backoff(attempt, milliseconds(200), milliseconds(5000), rng).count();
            REQUIRE(w >= 200);
            REQUIRE(w <= cap);
        }
    }
    CHECK(jittered_backoff(0, milliseconds(200), milliseconds(5000), rng) == milliseconds(200));
}

TEST_CASE("backoff: later attempts spread over the whole range") {
    std::mt19937 rng{11};
    long long lo = 1 << 30, hi = 0;  // milliseconds
    for (int i = 0; i < 2000; ++i) {
        long long w = jittered_backoff(10, milliseconds(200), milliseconds(5000), rng).count();
        lo = std::min(lo, w), hi = std::max(hi, w);
    }
    CHECK(lo < 500);
    CHECK(hi > 4700);
}
