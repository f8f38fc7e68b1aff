// A hospital's statement.daily answer comes from outside (the HIS through its agent): every
// shape and bound is checked before reconciliation reads a line, and a bad one is refused by
// line number, never read as a smaller or negative amount.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "controlplane/money/reconciler.h"

using hisgate::controlplane::money::his_lines_of;
using nlohmann::json;

namespace {
std::string refusal(const json& answer) {
    auto lines = his_lines_of(answer);
    REQUIRE_FALSE(lines.ok());
    CHECK(lines.error().code == "reconcile.bad_statement");
    return lines.error().message;
}
json line(json order, json kind, json amount) { return {{"orderId", order}, {"kind", kind}, {"amountCents", amount}}; }
}  // namespace

TEST_CASE("statement lines: a well-formed answer is read in order") {
    auto lines = his_lines_of({{"lines", {line("T-1", "payment", 5000), line("T-1", "refund", 5000)}}});
    REQUIRE(lines.ok());
    REQUIRE(lines->size() == 2);
    CHECK((*lines)[0].order_id == "T-1");
    CHECK((*lines)[1].kind == "refund");
    CHECK((*lines)[1].amount_fen == 5000);
    CHECK(his_lines_of({{"lines", json::array()}})->empty());
}

TEST_CASE("statement lines: hostile values are refused naming the line and what was expected") {
    CHECK_THAT(refusal(json::array()), Catch::Contains("not a JSON object"));
    CHECK_THAT(refusal({{"lines", "all of them"}}), Catch::Contains("no \"lines\" array"));
    CHECK_THAT(refusal({{"lines", {line("T-1", "payment", 1), 7}}}), Catch::Contains("line 2: not an object"));
    CHECK_THAT(refusal({{"lines", {line("", "payment", 1)}}}), Catch::Contains("line 1: orderId"));
    CHECK_THAT(refusal({{"lines", {line(std::string(129, 'x'), "payment", 1)}}}), Catch::Contains("1 to 128 characters"));
    CHECK_THAT(refusal({{"lines", {line(42, "payment", 1)}}}), Catch::Contains("orderId"));
    CHECK_THAT(refusal({{"lines", {line("T-1", json::array(), 1)}}}), Catch::Contains("line 1: kind"));
    CHECK_THAT(refusal({{"lines", {line("T-1", "payment", 12.5)}}}), Catch::Contains("amountCents"));
    CHECK_THAT(refusal({{"lines", {line("T-1", "payment", "5000")}}}), Catch::Contains("amountCents"));
    // 2^64 - 1 would be -1 as int64: refused here, not handed on as a negative amount.
    CHECK_THAT(refusal({{"lines", {line("T-1", "payment", UINT64_MAX)}}}), Catch::Contains("whole number of fen"));
    json many = json::array();
    for (int i = 0; i < 1'000'001; ++i) many.push_back(nullptr);
    CHECK_THAT(refusal({{"lines", many}}), Catch::Contains("at most 1000000"));
}

TEST_CASE("statement lines: what passes the shape check is still judged by the reconcile core") {
    auto lines = his_lines_of({{"lines", {line("T-1", "chargeback", -5)}}});
    REQUIRE(lines.ok());
    auto report = hisgate::ledger::reconcile("2026-12-05", {}, *lines, {});
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code == "reconcile.bad_line");
}
