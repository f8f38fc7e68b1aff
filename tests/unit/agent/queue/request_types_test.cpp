// The one table of request types: what the agent admits, dispatches and advertises.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "adapters/his_adapter.h"
#include "agent/diagnostics.h"
#include "agent/request_types.h"
#include "common/clock.h"
#include "config-params/param_set.h"
#include "tests/support/process.h"

using namespace hisgate::agent;

TEST_CASE("request types: one row per name, each with its handler; the birth message advertises exactly the rows") {
    std::set<std::string> names, changing;
    for (const auto& t : request_types()) {
        INFO(t.name);
        CHECK(names.insert(std::string(t.name)).second);
        CHECK(t.handler != nullptr);
        CHECK(find_request_type(t.name) == &t);
        if (t.changes_his) changing.insert(std::string(t.name));
    }
    CHECK(changing == std::set<std::string>{"appointment.book", "appointment.cancel", "appointment.revoke",
                                            "appointment.cancel_revoke", "payment.pay", "payment.refund", "payment.revoke",
                                            "payment.refund_revoke"});
    // What the revoke fence holds each change back by.
    CHECK(find_request_type("payment.pay")->fenced_by == FencedBy::Order);
    CHECK(find_request_type("appointment.book")->fenced_by == FencedBy::Order);
    CHECK(find_request_type("payment.refund")->fenced_by == FencedBy::Request);
    CHECK(find_request_type("appointment.cancel")->fenced_by == FencedBy::Request);
    CHECK(find_request_type("payment.revoke")->fenced_by == FencedBy::Nothing);
    CHECK(fence_key_of_request("RF-1-change-1") == "request:RF-1-change-1");
    CHECK(find_request_type("report.get")->cls == TaskClass::Deferred);
    CHECK(find_request_type("payment.status")->cls == TaskClass::RealTime);
    CHECK(find_request_type("surgery.schedule") == nullptr);

    auto advertised = advertised_capabilities();
    REQUIRE(advertised.size() == request_types().size());
    for (size_t i = 0; i < advertised.size(); ++i) {
        const auto& row = request_types()[i];
        CHECK(advertised[i]["type"] == std::string(row.name));
        CHECK(advertised[i]["class"] == to_string(row.cls));
        CHECK(advertised[i]["changesHis"] == row.changes_his);
    }
}

TEST_CASE("request types: params.get answers the parameter file with the hash the birth advertises") {
    const std::string dir = hisgate::test::make_temp_dir("hisgate-params-get");
    const std::string example = std::string(HISGATE_SOURCE_DIR) + "/config-params/examples/south-hl7-gb18030.json";
    const auto& catalog = hisgate::params::Catalog::builtin();
    REQUIRE(catalog);
    auto set = hisgate::params::ParamSet::load_file(*catalog, example);
    REQUIRE(set);
    Diagnostics d;
    d.params_file = example;
    auto got = parameter_file_of(d);
    REQUIRE(got);
    CHECK((*got)["paramsHash"] == set->hash());
    CHECK((*got)["params"]["hospital"]["id"] == set->string("hospital.id"));
    CHECK(find_request_type("params.get")->cls == TaskClass::RealTime);
    CHECK_FALSE(find_request_type("params.get")->changes_his);
    d.params_file = "";
    CHECK(parameter_file_of(d).error().code == "params.none");
    d.params_file = dir + "/missing.json";
    CHECK(parameter_file_of(d).error().code == "params.unreadable");
    hisgate::test::write_file(dir + "/bad.json", "[1, 2");
    d.params_file = dir + "/bad.json";
    CHECK(parameter_file_of(d).error().code == "params.invalid");
    std::system(("rm -rf " + dir).c_str());
}

namespace {
// A HIS that is not idempotent: it counts every cancel and refund it carries out.
class CountingCancelHis final : public hisgate::HisAdapter {
public:
    std::string booking = "booked";
    std::string payment = "paid";
    int cancels = 0, refunds = 0;
    std::string dialect() const override { return "counting"; }
    hisgate::Result<hisgate::ReferenceData> extract_reference_data(const std::string&, const std::string&) override {
        return unsupported();
    }
    hisgate::Result<hisgate::Booking> book(const hisgate::BookingOrder&) override { return unsupported(); }
    hisgate::Result<hisgate::Booking> cancel(const std::string& id) override {
        ++cancels;
        booking = "cancelled";
        return hisgate::Booking{id, "S1", "P1", booking};
    }
    hisgate::Result<hisgate::Booking> booking_status(const std::string& id) override {
        return hisgate::Booking{id, "S1", "P1", booking};
    }
    hisgate::Result<hisgate::Payment> pay(const hisgate::PaymentOrder&) override { return unsupported(); }
    hisgate::Result<hisgate::Payment> refund(const hisgate::PaymentOrder& o) override {
        ++refunds;
        payment = "refunded";
        return hisgate::Payment{o.order_id, o.amount_cents, payment};
    }
    hisgate::Result<hisgate::Payment> payment_status(const std::string& id) override {
        return hisgate::Payment{id, 2500, payment};
    }
    hisgate::Result<hisgate::Report> get_report(const std::string&) override { return unsupported(); }
    hisgate::Result<std::vector<hisgate::ReportSummary>> list_reports(const std::string&) override { return unsupported(); }
    hisgate::Result<std::vector<hisgate::StatementLine>> daily_statement(const std::string&) override { return unsupported(); }
    hisgate::Result<hisgate::HisClockReading> read_clock() override { return unsupported(); }
    hisgate::Result<std::unique_ptr<hisgate::PushListener>> listen_for_pushes(hisgate::PushHandler) override {
        return unsupported();
    }

private:
    static hisgate::Error unsupported() {
        return hisgate::make_error(hisgate::ErrorClass::BadInput, "test.unsupported", "not used by this test");
    }
};
}  // namespace

TEST_CASE("request types: a retried refund or cancel asks the HIS first and never carries it out twice") {
    CountingCancelHis his;
    auto rules = hisgate::appointments::RuleSet::from_params(nlohmann::json::object(), "test");
    REQUIRE(rules);
    hisgate::ManualClock clock;
    Diagnostics diagnostics;
    int sent = 0;
    bool horizon_passed = true;
    auto context = [&](std::string_view type, bool maybe_done) {
        return RequestContext{type, "T-1-change-1", his, *rules, clock, false, maybe_done,
                              [&]() -> std::optional<hisgate::Error> {
                                  ++sent;
                                  return std::nullopt;
                              },
                              [&](const std::string&) -> std::optional<hisgate::Error> { return std::nullopt; },
                              [&]() -> std::optional<hisgate::Error> {
                                  if (horizon_passed) return std::nullopt;
                                  return hisgate::make_error(hisgate::ErrorClass::Timeout, "his.in_doubt", "wait");
                              },
                              [&](const std::string&) -> std::optional<hisgate::Error> { return std::nullopt; },
                              diagnostics};
    };
    const nlohmann::json cancel_body = {{"orderId", "B-1"}};
    const nlohmann::json refund_body = {{"orderId", "P-1"}, {"amountCents", 2500}, {"method", "wechat"}};
    const auto* cancel = find_request_type("appointment.cancel");
    const auto* refund = find_request_type("payment.refund");
    REQUIRE(cancel);
    REQUIRE(refund);

    // A retry while an earlier attempt may still be running at the HIS waits, sending nothing.
    horizon_passed = false;
    CHECK(cancel->handler(context("appointment.cancel", true), cancel_body).error().code == "his.in_doubt");
    CHECK(refund->handler(context("payment.refund", true), refund_body).error().code == "his.in_doubt");
    CHECK(his.cancels + his.refunds + sent == 0);
    // The first attempt carries it out, once.
    horizon_passed = true;
    CHECK((*cancel->handler(context("appointment.cancel", false), cancel_body))["status"] == "cancelled");
    CHECK((*refund->handler(context("payment.refund", false), refund_body))["status"] == "refunded");
    CHECK(his.cancels == 1);
    CHECK(his.refunds == 1);
    CHECK(sent == 2);
    // A retry after it (its answer lost) is answered from the HIS's record, not carried out again.
    CHECK((*cancel->handler(context("appointment.cancel", true), cancel_body))["status"] == "cancelled");
    CHECK((*refund->handler(context("payment.refund", true), refund_body))["status"] == "refunded");
    CHECK(his.cancels == 1);
    CHECK(his.refunds == 1);
    CHECK(sent == 2);
}
