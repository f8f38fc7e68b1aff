#include "controlplane/money/split_plan_store.h"

namespace hisgate::controlplane::money {

Result<SplitPlanStore> SplitPlanStore::open(const std::string& path) {
    auto db = sql::Db::open_with_schema(
        path, {"CREATE TABLE IF NOT EXISTS split_plans(id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL,"
               " updated_ms INTEGER NOT NULL, state TEXT NOT NULL, plan TEXT NOT NULL, progress TEXT NOT NULL)"});
    if (!db) return db.error();
    // A plan must be durable before its split writes anything.
    if (auto r = db->exec("PRAGMA synchronous=FULL"); !r) return r.error();
    return SplitPlanStore(std::move(db.value()));
}

nlohmann::json SplitPlanStore::plan_json(const ledger::SplitPlan& plan) {
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& t : plan.targets)
        targets.push_back({{"partition", t.partition}, {"provinces", t.provinces}, {"path", t.path}});
    return {{"source", plan.source},
            {"sourcePath", plan.source_path},
            {"targets", targets},
            {"maxFreezeMs", plan.max_freeze.count()},
            {"durable", plan.durable}};
}

Result<ledger::SplitPlan> SplitPlanStore::plan_of(const nlohmann::json& j) {
    try {
        ledger::SplitPlan plan;
        plan.source = j.at("source").get<std::string>();
        plan.source_path = j.at("sourcePath").get<std::string>();
        for (const auto& t : j.at("targets"))
            plan.targets.push_back(ledger::SplitTarget{t.at("partition").get<std::string>(),
                                                       t.at("provinces").get<std::set<std::string>>(),
                                                       t.at("path").get<std::string>()});
        plan.max_freeze = std::chrono::milliseconds(j.at("maxFreezeMs").get<int64_t>());
        plan.durable = j.value("durable", true);
        return plan;
    } catch (const nlohmann::json::exception& e) {
        return make_error(ErrorClass::Internal, "split.bad_stored_plan", std::string("a stored split plan is unreadable: ") + e.what());
    }
}

Result<int64_t> SplitPlanStore::add(const ledger::SplitPlan& plan, int64_t now_ms) {
    int64_t id = 0;
    auto done = db_.transaction([&]() -> Result<void> {
        auto old = db_.prepare("UPDATE split_plans SET state = 'done', updated_ms = ?1 WHERE state = 'switched'");
        if (!old) return old.error();
        old->bind(1, now_ms);
        if (auto r = old->run(); !r) return r;
        auto s = db_.prepare(
            "INSERT INTO split_plans(created_ms, updated_ms, state, plan, progress) VALUES (?1, ?1, 'running', ?2, '{}')");
        if (!s) return s.error();
        s->bind(1, now_ms).bind(2, plan_json(plan).dump());
        if (auto r = s->run(); !r) return r;
        id = db_.last_insert_rowid();
        return {};
    });
    if (!done) return done.error();
    return id;
}

Result<void> SplitPlanStore::set_state(int64_t id, const std::string& state, const nlohmann::json& progress,
                                       int64_t now_ms) {
    auto s = db_.prepare("UPDATE split_plans SET state = ?1, progress = ?2, updated_ms = ?3 WHERE id = ?4");
    if (!s) return s.error();
    s->bind(1, state).bind(2, progress.dump()).bind(3, now_ms).bind(4, id);
    return s->run();
}

Result<std::optional<StoredSplit>> SplitPlanStore::latest() {
    auto s = db_.prepare("SELECT id, state, plan, progress FROM split_plans ORDER BY id DESC LIMIT 1");
    if (!s) return s.error();
    if (!s->step()) {
        if (s->error()) return *s->error();
        return std::optional<StoredSplit>();
    }
    StoredSplit out;
    out.id = s->integer(0);
    out.state = s->text(1);
    auto plan = nlohmann::json::parse(s->text(2), nullptr, false);
    auto parsed = plan_of(plan);
    if (!parsed) return parsed.error();
    out.plan = std::move(parsed.value());
    out.progress = nlohmann::json::parse(s->text(3), nullptr, false);
    if (out.progress.is_discarded()) out.progress = nlohmann::json::object();
    return std::optional<StoredSplit>(std::move(out));
}

}  // namespace hisgate::controlplane::money
