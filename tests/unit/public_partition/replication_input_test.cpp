// Bad input on the replication path, both ways (issue 14, "Bad input"): what a replica asks
// the primary (the stream's query) and what a primary answers a replica (stream pages,
// entries, snapshot headers), from a real HTTP server on loopback playing a hostile or
// broken primary. Each is refused with an error naming what was wrong; nothing crashes.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <filesystem>
#include <functional>
#include <mutex>

#include "common/http_server.h"
#include "controlplane/public_partition/replication_api.h"
#include "controlplane/public_partition/stream_entry.h"
#include "controlplane/replica/primary_client.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::controlplane::public_partition;
using hisgate::controlplane::replica::PrimaryAddress;
using hisgate::controlplane::replica::PrimaryClient;

namespace {

void refused(const std::string& query, const std::string& parameter) {
    INFO("query: " << query);
    auto q = parse_stream_query(query);
    REQUIRE_FALSE(q.ok());
    CHECK(q.error().code == "replication.bad_query");
    CHECK(q.error().message.find(parameter) != std::string::npos);
}

nlohmann::json good_entry() {
    return {{"pos", 3},          {"hospital", "H001"}, {"kind", "changes"}, {"seq", 2},
            {"suspect", false},  {"checksum", "00000000000000ff"},      {"atMs", 1733300000000},
            {"records", {{{"entity", "doctor"}, {"key", "D1"}, {"op", "delete"}, {"data", nullptr}}}}};
}

// A primary that answers whatever the test says, on a free loopback port.
class FakePrimary {
public:
    using Answer = std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;
    FakePrimary() : server_("127.0.0.1", 0, [this](auto& req, auto& res) { serve(req, res); }) {
        REQUIRE(server_.start().ok());
    }
    void answer(Answer a) {
        std::lock_guard lock(mu_);
        answer_ = std::move(a);
    }
    PrimaryClient client() const { return PrimaryClient(PrimaryAddress{"127.0.0.1", server_.port(), "token"}); }

private:
    void serve(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
        Answer a;
        {
            std::lock_guard lock(mu_);
            a = answer_;
        }
        a(req, res);
    }
    std::mutex mu_;
    Answer answer_;
    HttpServer server_;
};

FakePrimary::Answer json_page(const std::string& body, int status = 200) {
    return [body, status](auto&, auto& res) { send_text(res, status, "application/json", body); };
}

std::string page_with(const nlohmann::json& entries, nlohmann::json head = nullptr) {
    if (head.is_null()) head = {{"pos", 3}, {"checksum", "00000000000000ff"}, {"atMs", 1}, {"oldest", 1}};
    return nlohmann::json{{"head", head}, {"nowMs", 2}, {"entries", entries}}.dump();
}

}  // namespace

TEST_CASE("replication: a stream query out of bounds or malformed is refused naming the parameter") {
    CHECK(parse_stream_query("after=0").ok());
    auto q = parse_stream_query("after=42&wait_ms=0&max=5000");
    REQUIRE(q.ok());
    CHECK(q->after == 42);
    CHECK(q->max_entries == 5000);

    refused("", "after");
    refused("wait_ms=10", "after");
    refused("after=-1", "after");
    refused("after=abc", "after");
    refused("after=1e3", "after");
    refused("after=%20", "after");
    refused("after=99999999999999999", "after");  // 17 digits
    refused("after=9007199254740993", "after");   // 2^53 + 1
    refused("after=1&wait_ms=30001", "wait_ms");
    refused("after=1&wait_ms=-5", "wait_ms");
    refused("after=1&max=0", "max");
    refused("after=1&max=5001", "max");
    refused("after=1&limit=10", "limit");           // not a parameter here
    refused("after=1&" + std::string(400, 'x'), "");  // the query's own bound
}

TEST_CASE("replication: a stream entry out of shape is refused naming the field") {
    REQUIRE(parse_stream_entry(good_entry()).ok());
    auto without = [](const char* field) {
        auto e = good_entry();
        e.erase(field);
        return e;
    };
    auto with = [](const char* field, nlohmann::json v) {
        auto e = good_entry();
        e[field] = std::move(v);
        return e;
    };
    const std::vector<std::pair<nlohmann::json, std::string>> cases = {
        {nlohmann::json::array(), "object"},
        {without("pos"), "pos"},
        {with("pos", 0), "pos"},
        {with("pos", "3"), "pos"},
        {with("seq", -1), "seq"},
        {with("atMs", 1.5), "atMs"},
        {without("hospital"), "hospital"},
        {with("hospital", ""), "hospital"},
        {with("hospital", std::string(129, 'H')), "hospital"},
        {with("kind", "truncate"), "kind"},
        {with("suspect", "no"), "suspect"},
        {with("checksum", "FF"), "checksum"},
        {with("checksum", "00000000000000FF"), "checksum"},  // lowercase only
        {with("checksum", "000000000000000g"), "checksum"},
        {with("records", "none"), "records"},
        {with("records", nlohmann::json::array({{{"entity", "doctor"}, {"key", "D1"}, {"op", "merge"}}})), "records"},
        {with("records", nlohmann::json::array({{{"entity", "ward"}, {"key", "W1"}, {"op", "delete"}}})), "records"},
        {with("records", nlohmann::json::array({{{"entity", "doctor"}, {"key", std::string(200, 'k')}, {"op", "delete"}}})),
         "records"},
    };
    for (const auto& [entry, field] : cases) {
        INFO(entry.dump().substr(0, 200));
        auto e = parse_stream_entry(entry);
        REQUIRE_FALSE(e.ok());
        CHECK(e.error().code == "stream.entry");
        CHECK(e.error().message.find(field) != std::string::npos);
    }
}

TEST_CASE("replication: a primary's page that is not JSON, too deep, too big or out of shape is an error, not a crash") {
    FakePrimary primary;
    auto client = primary.client();
    auto expect = [&](FakePrimary::Answer a, const std::string& code, const std::string& says = "") {
        primary.answer(std::move(a));
        auto page = client.stream(0, std::chrono::milliseconds(0));
        REQUIRE_FALSE(page.ok());
        INFO(page.error().describe());
        CHECK(page.error().code == code);
        if (!says.empty()) CHECK(page.error().message.find(says) != std::string::npos);
    };
    primary.answer(json_page(page_with(nlohmann::json::array({good_entry()}))));
    auto ok = client.stream(0, std::chrono::milliseconds(0));
    REQUIRE(ok.ok());
    CHECK(ok->entries.size() == 1);

    expect(json_page("{\"head\": "), "primary.invalid");
    expect(json_page(std::string(100000, '[') + std::string(100000, ']')), "primary.too_deep");
    expect(json_page("[]"), "primary.bad_page", "head");
    expect(json_page(page_with(nlohmann::json::array(), {{"pos", 3}, {"atMs", 1}, {"oldest", 1}})), "primary.bad_page",
           "head.checksum");
    expect(json_page(page_with(nlohmann::json::array(), {{"pos", "3"}, {"checksum", "00000000000000ff"}, {"atMs", 1},
                                                         {"oldest", 1}})),
           "primary.bad_page", "head.pos");
    auto bad_entry = good_entry();
    bad_entry["kind"] = "drop table";
    expect(json_page(page_with(nlohmann::json::array({good_entry(), bad_entry}))), "primary.bad_entry", "kind");
    // Over the page bound (16 MiB): refused while it arrives.
    expect(json_page(std::string(PrimaryClient::kMaxPageBytes + 1024, ' ')), "primary.too_large");
    // The primary's own refusals keep their code.
    expect(json_page(R"({"code": "stream.gone", "message": "entries after 0 are no longer kept"})", 410), "stream.gone");
    // An error answer that is not the API's JSON still becomes an error.
    expect([](auto&, auto& res) { send_text(res, 502, "text/html", "<html>bad gateway</html>"); }, "primary.http_502");
}

TEST_CASE("replication: a snapshot without its position, or cut short, is refused and leaves no usable file") {
    FakePrimary primary;
    auto client = primary.client();
    const auto dir = test::make_temp_dir("replication-input");
    const std::string file = dir + "/snapshot.db";
    auto snapshot_answer = [](std::map<std::string, std::string> headers, std::string body,
                              std::optional<size_t> declared = std::nullopt) {
        return [headers, body, declared](auto&, Poco::Net::HTTPServerResponse& res) {
            for (const auto& [k, v] : headers) res.set(k, v);
            res.setContentType("application/vnd.sqlite3");
            res.setContentLength64(static_cast<Poco::Int64>(declared.value_or(body.size())));
            auto& out = res.send();
            out << body;
        };
    };
    const std::string good_sum = "00000000000000ff";
    for (const auto& headers : std::vector<std::map<std::string, std::string>>{
             {},
             {{"Stream-Position", "7"}},
             {{"Stream-Checksum", good_sum}},
             {{"Stream-Position", "-7"}, {"Stream-Checksum", good_sum}},
             {{"Stream-Position", "7x"}, {"Stream-Checksum", good_sum}},
             {{"Stream-Position", "99999999999999999"}, {"Stream-Checksum", good_sum}},
             {{"Stream-Position", "7"}, {"Stream-Checksum", "not hex at all!!"}}}) {
        primary.answer(snapshot_answer(headers, "SQLite format 3"));
        auto got = client.snapshot(file);
        REQUIRE_FALSE(got.ok());
        CHECK(got.error().code == "primary.bad_snapshot");
    }
    // Headers right, but the connection ends before the body it announced.
    primary.answer(snapshot_answer({{"Stream-Position", "7"}, {"Stream-Checksum", good_sum}}, "SQLite format 3",
                                   size_t{1} << 20));
    auto cut = client.snapshot(file);
    REQUIRE_FALSE(cut.ok());
    CHECK(cut.error().code == "primary.truncated");
    CHECK_FALSE(std::filesystem::exists(file));
    std::filesystem::remove_all(dir);
}
