// The live partition split run by an operator, end to end: `hisgate partition split` against
// a running hisgate-controlplane with its ledgers (and the real agent, his-sim and pay-sim
// the money routes need) while patients create payments; then `hisgate partition rollback`.
// Every payment the API acknowledged is read back through the API: in the partition its
// province routes to (south-a for 44 and 45, south-b for the rest of the south), then in
// south again after the rollback.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "controlplane/ledger/partition_map.h"
#include "tests/support/process.h"
#include "tests/support/running_pay_sim.h"
#include "tests/support/system.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {

std::string id_card(const std::string& province) {
    std::string first17 = province + "010219900101123";
    return first17 + ledger::id_card_check_char(first17);
}

}  // namespace

TEST_CASE("partition cli: south splits into south-a and south-b while payments are created, then rolls back") {
    test::RunningPaySim pay;
    test::System sys({.hospitals = {"H001"},
                      .controlplane_config =
                          nlohmann::json{{"ledger", {{"dir", pay.dir + "/ledgers"}}},
                                         {"payments", {{"url", "http://127.0.0.1:" + std::to_string(pay.port)},
                                                       {"key_file", pay.dir + "/merchant.key"}}}}
                              .dump()});
    REQUIRE(sys.start());
    const std::string admin_token = sys.dir() + "/admin.token", operator_token = sys.dir() + "/operator.token";
    test::write_file(admin_token, sys.token("admin", "ops-wang"));
    test::write_file(operator_token, sys.token("operator", "ops-li"));
    const std::string url = "http://127.0.0.1:" + std::to_string(sys.api_port());
    auto cli = [&](std::vector<std::string> args, const std::string& token_file) {
        args.insert(args.begin(), test::binary("cli/hisgate"));
        args.insert(args.end(), {"--url", url, "--token-file", token_file});
        return test::run_capture(args, 60s);
    };

    // Refused, nothing changed: an operator may not split; a source that is not in the map.
    auto refused = sys.post("/api/v1/ledger/partitions/split",
                            R"({"source":"south","targets":[{"name":"south-a","provinces":["44"]},{"name":"south-b","provinces":["45"]}]})");
    CHECK(refused.status == 403);
    auto unknown = cli({"partition", "split", "west", "--into", "west-a,west-b", "--by", "province=44"}, admin_token);
    CHECK(unknown.status == 1);
    CHECK(unknown.output.find("split.bad_plan") != std::string::npos);
    auto admin = sys.bearer("admin", "ops-wang");
    auto malformed = sys.post("/api/v1/ledger/partitions/split", R"({"source":"south","targets":"all"})", admin);
    CHECK(malformed.status == 400);
    CHECK(malformed.body.find("split.bad_request") != std::string::npos);
    auto uncovered = sys.post("/api/v1/ledger/partitions/split",
                              R"({"source":"south","targets":[{"name":"south-a","provinces":["44"]},{"name":"south-b","provinces":["45"]}]})",
                              admin);
    CHECK(uncovered.status == 400);
    CHECK(uncovered.body.find("is given to no target") != std::string::npos);
    auto nothing = sys.post("/api/v1/ledger/partitions/rollback", R"({"source":"south"})", admin);
    CHECK(nothing.status == 409);
    CHECK(nothing.body.find("split.nothing_to_roll_back") != std::string::npos);
    auto before = nlohmann::json::parse(sys.get("/api/v1/ledger/partitions").body);
    CHECK(before["epoch"] == 1);
    CHECK(before["split"].is_null());

    std::mutex mu;
    std::map<std::string, std::string> acked;  // transaction id → province
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::thread writer([&] {
        for (int i = 0; !stop; ++i) {
            const std::string province = i % 2 ? "44" : "35";
            const std::string patient = "P-SPLIT-" + std::to_string(i % 5);
            auto r = sys.post("/api/v1/payments",
                              R"({"hospitalId":"H001","patientId":")" + patient +
                                  R"(","amount":"9.50","currency":"CNY","purpose":"outpatient","idCard":")" +
                                  id_card(province) + R"("})",
                              {{"Authorization", "Bearer " + sys.token("patient", patient)},
                               {"Idempotency-Key", "split-" + std::to_string(i)}});
            if (r.status != 201) {
                ++failures;
                UNSCOPED_INFO(r.status << " " << r.body);
                continue;
            }
            std::lock_guard lock(mu);
            acked[nlohmann::json::parse(r.body)["transactionId"]] = province;
        }
    });
    auto count = [&] {
        std::lock_guard lock(mu);
        return acked.size();
    };
    REQUIRE(test::eventually([&] { return count() >= 20; }, 20s));

    auto split = cli({"partition", "split", "south", "--into", "south-a,south-b", "--by", "province=44,45"}, admin_token);
    INFO(split.output);
    CHECK(split.status == 0);
    CHECK(split.output.find("frozen") != std::string::npos);
    CHECK(split.output.find("epoch 2") != std::string::npos);
    size_t at_switch = count();
    REQUIRE(test::eventually([&] { return count() >= at_switch + 20; }, 20s));
    stop = true;
    writer.join();
    CHECK(failures == 0);

    auto status = cli({"partition", "status", "--json"}, operator_token);
    REQUIRE(status.status == 0);
    auto view = nlohmann::json::parse(status.output);
    CHECK(view["epoch"] == 2);
    CHECK(view["split"]["state"] == "switched");
    CHECK(view["partitions"]["south-a"] == nlohmann::json::array({"44", "45"}));

    auto partition_of = [&](const std::string& id) {
        auto r = sys.get("/api/v1/transactions/" + id);
        return r.status == 200 ? nlohmann::json::parse(r.body).value("partition", "") : "HTTP " + std::to_string(r.status);
    };
    for (const auto& [id, province] : acked) CHECK(partition_of(id) == (province == "44" ? "south-a" : "south-b"));

    auto again = cli({"partition", "rollback", "south"}, admin_token);
    INFO(again.output);
    CHECK(again.status == 0);
    for (const auto& [id, province] : acked) CHECK(partition_of(id) == "south");
    auto after = cli({"partition", "status"}, operator_token);
    CHECK(after.output.find("rolled_back") != std::string::npos);
    CHECK(after.output.find("epoch 3") != std::string::npos);
    auto twice = cli({"partition", "rollback", "south"}, admin_token);
    CHECK(twice.status == 1);
    CHECK(twice.output.find("split.nothing_to_roll_back") != std::string::npos);
}
