#include <catch2/catch.hpp>

#include <random>

#include "adapters/money.h"

using namespace hisgate;

TEST_CASE("money: decimal strings and cents convert both ways") {
    CHECK(cents_to_decimal(2500) == "25.00");
    CHECK(cents_to_decimal(7) == "0.07");
    CHECK(cents_to_decimal(-307) == "-3.07");
    CHECK(decimal_to_cents("25") == 2500);
    CHECK(decimal_to_cents("25.5") == 2550);
    CHECK(decimal_to_cents("-3.07") == -307);
    for (const char* bad : {"", ".5", "5.", "1.234", "abc", "1,00", "--1", "1e3"}) {
        INFO(bad);
        CHECK_FALSE(decimal_to_cents(bad));
    }
    std::mt19937_64 rng(20261121);
    for (int i = 0; i < 1000; ++i) {
        int64_t cents = static_cast<int64_t>(rng() % 2000000000) - 1000000000;
        CHECK(decimal_to_cents(cents_to_decimal(cents)) == cents);
    }
}
