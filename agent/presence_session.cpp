#include "agent/presence_session.h"

namespace hisgate::agent {

Result<std::unique_ptr<PresenceSessions>> PresenceSessions::open(const std::string& state_file) {
    auto db = sql::Db::open(state_file);
    if (!db) return db.error();
    if (auto r = db->exec("CREATE TABLE IF NOT EXISTS presence_session(one INTEGER PRIMARY KEY CHECK(one = 1), "
                          "session INTEGER NOT NULL)");
        !r)
        return r.error();
    return std::unique_ptr<PresenceSessions>(new PresenceSessions(std::move(db.value())));
}

Result<int64_t> PresenceSessions::next() {
    std::lock_guard lock(mu_);
    return db_.transaction([&]() -> Result<int64_t> {
        auto bump = db_.prepare(
            "INSERT INTO presence_session(one, session) VALUES(1, 1) "
            "ON CONFLICT(one) DO UPDATE SET session = session + 1");
        if (!bump) return bump.error();
        if (auto r = bump->run(); !r) return r.error();
        auto read = db_.prepare("SELECT session FROM presence_session WHERE one = 1");
        if (!read) return read.error();
        if (!read->step())
            return read->error() ? *read->error()
                                 : make_error(ErrorClass::Internal, "presence.no_session", "the session row vanished");
        return read->integer(0);
    });
}

}  // namespace hisgate::agent
