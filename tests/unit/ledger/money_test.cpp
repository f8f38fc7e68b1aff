// Amounts and request fields: exact fen, and a clear refusal for everything else.
#include <catch2/catch.hpp>

#include "controlplane/ledger/money.h"

using namespace hisgate;
using namespace hisgate::ledger;

TEST_CASE("money: yuan decimal strings become exact fen") {
    CHECK(parse_yuan("12.50").value() == 1250);
    CHECK(parse_yuan("12.5").value() == 1250);
    CHECK(parse_yuan("12").value() == 1200);
    CHECK(parse_yuan("0.01").value() == 1);
    CHECK(parse_yuan("1000000.00").value() == kMaxAmountFen);
    CHECK(format_yuan(1250) == "12.50");
    CHECK(format_yuan(7) == "0.07");
}

TEST_CASE("money: malformed or out-of-range amounts are refused, naming what and what was expected") {
    struct Case {
        const char* text;
        const char* says;
    };
    for (auto c : {Case{"-1.00", "not a number at character 1"}, Case{"0", "zero"}, Case{"0.00", "zero"},
                   Case{"1000000.01", "over the cap"}, Case{"99999999999", "over the cap"},
                   Case{"12.505", "more than two decimals"}, Case{"abc", "not a number"}, Case{"12,50", "character 3"},
                   Case{"", "empty"}, Case{"12.", "nothing after"}, Case{"1e3", "character 2"}, Case{".5", "character 1"},
                   Case{"NaN", "not a number"}}) {
        INFO(c.text);
        auto r = parse_yuan(c.text);
        REQUIRE_FALSE(r);
        CHECK(r.error().cls == ErrorClass::BadInput);
        CHECK(r.error().code == "ledger.bad_amount");
        CHECK(r.error().message.find("amount:") == 0);
        CHECK(r.error().message.find(c.says) != std::string::npos);
    }
    CHECK(check_amount_fen(-5).error().message.find("negative") != std::string::npos);
    CHECK(check_amount_fen(0).error().message.find("zero") != std::string::npos);
    CHECK(check_amount_fen(kMaxAmountFen + 1).error().message.find("cap") != std::string::npos);
}

TEST_CASE("money: currency, patient id and transaction id shapes") {
    CHECK(check_currency("CNY"));
    auto usd = check_currency("USD");
    REQUIRE_FALSE(usd);
    CHECK(usd.error().code == "ledger.bad_currency");
    CHECK(usd.error().message.find("expected \"CNY\"") != std::string::npos);
    CHECK_FALSE(check_currency("cny"));
    CHECK(check_patient_id("P-000123"));
    CHECK(check_patient_id("").error().code == "ledger.bad_patient_id");
    CHECK(check_patient_id(std::string(33, 'a')).error().code == "ledger.bad_patient_id");
    auto odd = check_patient_id("P 1");
    REQUIRE_FALSE(odd);
    CHECK(odd.error().message.find("character 2") != std::string::npos);
    CHECK(check_transaction_id("0123456789abcdef0123456789abcdef"));
    CHECK_FALSE(check_transaction_id("0123456789ABCDEF0123456789ABCDEF"));
    CHECK_FALSE(check_transaction_id("short"));
}
