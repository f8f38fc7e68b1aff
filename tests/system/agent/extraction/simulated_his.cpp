#include "simulated_his.h"

#include <catch2/catch.hpp>

#include "adapters/registry.h"
#include "appointment-rules/calendar.h"
#include "transport/envelope.h"

namespace hisgate::test {

namespace {
appointments::RuleSet no_rules() {
    auto r = appointments::RuleSet::from_params(nlohmann::json::parse(R"({"rules": [], "timezone": "UTC"})"), "t.json");
    REQUIRE(r.ok());
    return r.value();
}
}  // namespace

void run_sql(sql::Db& db, const std::string& text) {
    auto r = db.exec(text);
    INFO((r.ok() ? "" : r.error().describe()));
    REQUIRE(r.ok());
}

int64_t pull(extraction::Extractor& x) {
    auto r = x.extract_now();
    INFO((r.ok() ? "" : r.error().describe()));
    REQUIRE(r.ok());
    return r->seq;
}

ReferenceAsker::ReferenceAsker(SimulatedHis& his, extraction::ReferenceHistory* history) : rules_(no_rules()) {
    executor_ = std::make_unique<agent::TaskExecutor>(his.adapter(), rules_, "H001", agent::InDoubtPolicy{},
                                                      SystemClock::instance(), agent::Diagnostics{}, history);
}

nlohmann::json ReferenceAsker::ask(const std::string& type, const nlohmann::json& body) {
    agent::Task t;
    t.id = "T-" + std::to_string(++n_);
    t.type = type;
    t.request = Envelope::make(type, "H001", body).to_json();
    t.attempts = 1;
    auto out = executor_->run(t);
    CHECK_FALSE(out.retry);
    auto reply = nlohmann::json::parse(out.answer, nullptr, false);
    REQUIRE(reply.is_object());
    return reply;
}

nlohmann::json ReferenceAsker::body(const std::string& type, const nlohmann::json& request) {
    auto reply = ask(type, request);
    INFO(reply.dump().substr(0, 2000));
    REQUIRE_FALSE(reply.contains("error"));
    return reply["body"];
}

Result<nlohmann::json> ReferenceAsker::result(const std::string& type, const nlohmann::json& request) {
    auto reply = ask(type, request);
    if (!reply.contains("error")) return reply["body"];
    const auto& e = reply["error"];
    return make_error(error_class_from_string(e.value("class", "")), e.value("code", ""), e.value("message", ""));
}

Result<void> CollectingSink::emit(const std::string& type, const nlohmann::json& body) {
    if (fail) return make_error(ErrorClass::Unavailable, "agent.outbox", "the outbox cannot store the event");
    std::lock_guard lock(mu_);
    events_.emplace_back(type, body);
    return {};
}

std::vector<nlohmann::json> CollectingSink::changesets() const {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& [type, body] : events_)
        if (type == "reference.changeset") out.push_back(body);
    return out;
}

size_t CollectingSink::size() const {
    std::lock_guard lock(mu_);
    return events_.size();
}

SimulatedHis::SimulatedHis(const std::string& extraction) : dir_(make_temp_dir("extraction")) {
    uint16_t mllp_port = free_port();
    // The hospital runs on UTC like his-sim's seed day, so "today" is the same day for both.
    nlohmann::json params = {
        {"hospital", {{"id", "H001"}, {"region", "south"}, {"timezone", "UTC"}}},
        {"his", {{"dialect", "hl7v2-mllp"}, {"endpoint", "127.0.0.1:" + std::to_string(mllp_port)}, {"connect_timeout", "1s"}, {"answer_timeout", "3s"}}},
        {"extraction", nlohmann::json::parse(extraction)}};
    write_file(dir_ + "/params.json", params.dump(2));
    nlohmann::json sim = {{"params_file", dir_ + "/params.json"},
                          {"db", dir_ + "/his-sim.db"},
                          {"control", {{"port", free_port()}}},
                          {"log", {{"file", dir_ + "/his-sim.log"}}}};
    write_file(dir_ + "/his-sim.json", sim.dump(2));
    sim_ = Process({binary("tools/his-sim/his-sim"), "--config", dir_ + "/his-sim.json"}, dir_ + "/his-sim.out");

    const auto& catalog = params::Catalog::builtin();
    REQUIRE(catalog.ok());
    auto p = params::ParamSet::load_file(catalog.value(), dir_ + "/params.json");
    INFO((p.ok() ? "" : p.error().describe()));
    REQUIRE(p.ok());
    params_ = std::make_unique<params::ParamSet>(std::move(p.value()));
    auto a = AdapterRegistry::builtin().create(*params_);
    REQUIRE(a.ok());
    adapter_ = std::move(a.value());
}

SimulatedHis::~SimulatedHis() {
    sim_.stop();
    if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) std::system(("rm -rf " + dir_).c_str());
}

bool SimulatedHis::start() {
    auto endpoint = host_and_port(params_->string("his.endpoint"), "his.endpoint");
    return sim_.start() && endpoint.ok() && wait_port_open(endpoint->second, std::chrono::milliseconds(10000));
}

extraction::ExtractionSettings SimulatedHis::settings() const {
    auto s = extraction::settings_from_params(*params_);
    INFO((s.ok() ? "" : s.error().describe()));
    REQUIRE(s.ok());
    return s.value();
}

sql::Db SimulatedHis::his_db() const {
    auto db = sql::Db::open(dir_ + "/his-sim.db");
    REQUIRE(db.ok());
    return std::move(db.value());
}

int64_t count(const sql::Db& db, const std::string& sql_text) {
    auto st = const_cast<sql::Db&>(db).prepare(sql_text);
    REQUIRE(st.ok());
    REQUIRE(st->step());
    return st->integer(0);
}

std::string today_utc() {
    auto now = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    return appointments::format_date(std::chrono::year_month_day(now));
}

std::string days_after(const std::string& date, int days) {
    return appointments::format_date(appointments::add_days(*appointments::parse_date(date), days));
}

}  // namespace hisgate::test
