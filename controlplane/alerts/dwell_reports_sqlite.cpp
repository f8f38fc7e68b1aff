// DwellReports on SQLite: dwell_reports, one row per hospital, replaced only by a verdict
// sent later (an upsert guarded by sent_at; ISO 8601 UTC text of one shape orders as time).
#include <mutex>

#include "common/sqlite.h"
#include "controlplane/alerts/dwell_reports.h"

namespace hisgate::controlplane::alerts {

namespace {
class SqliteDwellReports final : public DwellReports {
public:
    explicit SqliteDwellReports(sql::Db db) : db_(std::move(db)) {}

    Result<void> report(const DwellVerdict& v) override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(
            "INSERT INTO dwell_reports(hospital_id, exceeded, sent_at, detail) VALUES(?1, ?2, ?3, ?4) "
            "ON CONFLICT(hospital_id) DO UPDATE SET exceeded = excluded.exceeded, sent_at = excluded.sent_at, "
            "detail = excluded.detail WHERE excluded.sent_at > dwell_reports.sent_at");
        if (!s) return s.error();
        s->bind(1, v.hospital_id).bind(2, int64_t{v.exceeded}).bind(3, v.sent_at).bind(4, v.detail);
        return s->run();
    }

    Result<std::vector<DwellVerdict>> exceeding() override {
        std::lock_guard lock(mu_);
        auto s = db_.prepare(
            "SELECT hospital_id, sent_at, detail FROM dwell_reports WHERE exceeded = 1 ORDER BY hospital_id LIMIT 100000");
        if (!s) return s.error();
        std::vector<DwellVerdict> out;
        while (s->step()) out.push_back({s->text(0), true, s->text(1), s->text(2)});
        if (s->error()) return *s->error();
        return out;
    }

private:
    std::mutex mu_;
    sql::Db db_;
};
}  // namespace

Result<std::unique_ptr<DwellReports>> open_sqlite_dwell_reports(const std::string& path) {
    auto db = sql::Db::open_with_schema(path,
        {"CREATE TABLE IF NOT EXISTS dwell_reports(hospital_id TEXT PRIMARY KEY, exceeded INTEGER NOT NULL, "
         "sent_at TEXT NOT NULL, detail TEXT NOT NULL)"});
    if (!db) return db.error();
    return std::unique_ptr<DwellReports>(new SqliteDwellReports(std::move(db.value())));
}

}  // namespace hisgate::controlplane::alerts
