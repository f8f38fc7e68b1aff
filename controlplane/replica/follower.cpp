#include "controlplane/replica/follower.h"

#include <filesystem>

#include "common/log.h"
#include "common/metrics.h"
#include "common/thread_name.h"

namespace hisgate::controlplane::replica {

using public_partition::Position;
using public_partition::ReferenceTables;

nlohmann::json ReplicaStatus::to_json() const {
    return {{"position", pos},
            {"checksum", public_partition::checksum_text(checksum)},
            {"primaryPosition", head_pos},
            {"lag", {{"entries", lag_entries}, {"seconds", lag_seconds}}},
            {"state", state},
            {"appliedEntries", applied_entries},
            {"reseeds", reseeds},
            {"divergences", divergences},
            {"checks", checks}};
}

Follower::Follower(ReplicaStore& store, PrimaryClient& primary, Clock& clock, FollowSettings settings)
    : store_(store), primary_(primary), clock_(clock), settings_(settings) {
    next_check_ = clock_.steady_now() + settings_.check_interval;
    auto at = store_.write([](sql::Db&, ReferenceTables& t) { return t.position(); });
    if (at) {
        status_.pos = at->pos;
        status_.checksum = at->checksum;
    }
}

Follower::~Follower() { stop(); }

void Follower::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard lock(run_mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
}

void Follower::stop() {
    {
        std::lock_guard lock(run_mu_);
        stopping_ = true;
    }
    run_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Follower::run() {
    name_this_thread("follower");
    std::unique_lock lock(run_mu_);
    while (!stopping_) {
        lock.unlock();
        auto r = step();
        lock.lock();
        if (!r) {
            log::warn("replica.follow_failed", {{"error", r.error().describe()}});
            clock_.wait_for(lock, run_cv_, settings_.retry, [this] { return stopping_; });
        }
    }
}

ReplicaStatus Follower::status() const {
    std::lock_guard lock(mu_);
    ReplicaStatus s = status_;
    // A primary silent for longer than a heartbeat or two: the replica cannot know what it
    // misses, so its lag is at least the silence.
    const int64_t silent_ms = clock_.wall_ms() - s.heard_ms;
    if (s.heard_ms > 0 && silent_ms > settings_.silence.count())
        s.lag_seconds = std::max(s.lag_seconds, static_cast<double>(silent_ms) / 1000.0);
    return s;
}

bool Follower::wait_for_position(int64_t pos, std::chrono::milliseconds patience) {
    std::unique_lock lock(mu_);
    return clock_.wait_for(lock, moved_, patience, [&] { return status_.pos >= pos; });
}

Result<void> Follower::step() {
    Position at;
    {
        std::lock_guard lock(mu_);
        at = {status_.pos, status_.checksum};
    }
    if (at.pos == 0) {
        // An empty replica starts from a snapshot: far quicker than replaying the stream,
        // and the stream's start may be pruned anyway.
        if (auto r = reseed("empty"); !r) return r.error();
        std::lock_guard lock(mu_);
        at = {status_.pos, status_.checksum};
    }
    auto page = primary_.stream(at.pos, settings_.wait);
    if (!page) {
        const auto& code = page.error().code;
        if (code == "stream.gone" || code == "stream.ahead") return reseed(code);
        std::lock_guard lock(mu_);
        status_.state = "unreachable";
        return page.error();
    }
    {
        std::lock_guard lock(mu_);
        status_.heard_ms = clock_.wall_ms();
    }
    if (page->head.pos - at.pos > settings_.max_lag_entries)
        return reseed("behind by " + std::to_string(page->head.pos - at.pos) + " entries");
    if (auto applied = apply_page(*page); !applied) {
        if (applied.error().code == "replica.divergent") return reseed(applied.error().message);
        return applied.error();
    }
    ReplicaStatus now;
    {
        std::lock_guard lock(mu_);
        now = status_;
    }
    if (now.pos == page->head.pos && now.checksum != page->head.checksum) {
        {
            std::lock_guard lock(mu_);
            ++status_.divergences;
        }
        return reseed("checksum at the primary's head differs");
    }
    if (clock_.steady_now() >= next_check_) {
        next_check_ = clock_.steady_now() + settings_.check_interval;
        if (auto checked = self_check(); !checked) return checked.error();
    }
    publish_metrics(status());
    return {};
}

Result<void> Follower::apply_page(const StreamPage& page) {
    const int64_t now = clock_.wall_ms();
    int64_t applied = 0;
    Position reached;
    auto done = store_.write([&](sql::Db& db, ReferenceTables& tables) {
        return db.transaction([&]() -> Result<Position> {
            for (const auto& e : page.entries) {
                auto sum = tables.apply(e, now);
                if (!sum) return sum.error();
                if (*sum != e.checksum)
                    return make_error(ErrorClass::Internal, "replica.divergent",
                                      "entry " + std::to_string(e.pos) + " reached checksum " +
                                          public_partition::checksum_text(*sum) + ", the primary's is " +
                                          public_partition::checksum_text(e.checksum));
                ++applied;
            }
            return tables.position();
        });
    });
    if (!done) {
        if (done.error().code == "replica.divergent" || done.error().code == "public.order") {
            std::lock_guard lock(mu_);
            ++status_.divergences;
            return make_error(ErrorClass::Internal, "replica.divergent", done.error().message);
        }
        return done.error();
    }
    reached = *done;
    static auto& applied_total = metrics::global().counter("hisgate_replica_applied_entries_total",
                                                           "Stream entries this replica applied");
    applied_total.inc(static_cast<double>(applied));
    {
        std::lock_guard lock(mu_);
        if (!page.entries.empty()) newest_applied_at_ms_ = page.entries.back().at_ms;
        status_.pos = reached.pos;
        status_.checksum = reached.checksum;
        status_.head_pos = std::max(page.head.pos, reached.pos);
        status_.lag_entries = status_.head_pos - status_.pos;
        status_.lag_seconds = status_.lag_entries == 0
                                  ? 0.0
                                  : std::max(0.0, static_cast<double>(page.now_ms - newest_applied_at_ms_) / 1000.0);
        status_.applied_entries += applied;
        status_.state = "following";
    }
    moved_.notify_all();
    return {};
}

Result<bool> Follower::self_check() {
    auto sums = store_.write([](sql::Db&, ReferenceTables& t) -> Result<std::pair<uint64_t, uint64_t>> {
        auto at = t.position();
        if (!at) return at.error();
        auto recomputed = t.recompute_checksum();
        if (!recomputed) return recomputed.error();
        return std::make_pair(at->checksum, *recomputed);
    });
    if (!sums) return sums.error();
    static auto& checks = metrics::global().counter("hisgate_replica_checks_total", "Checksum self-checks of this replica");
    checks.inc();
    {
        std::lock_guard lock(mu_);
        ++status_.checks;
    }
    if (sums->first == sums->second) return true;
    {
        std::lock_guard lock(mu_);
        ++status_.divergences;
    }
    log::error("replica.divergent", {{"kept", public_partition::checksum_text(sums->first)},
                                     {"rows", public_partition::checksum_text(sums->second)}});
    if (auto r = reseed("rows do not match their checksum"); !r) return r.error();
    return false;
}

Result<void> Follower::reseed(const std::string& why) {
    static auto& reseeds = metrics::global().counter("hisgate_replica_reseeds_total", "Times this replica re-seeded from a snapshot");
    {
        std::lock_guard lock(mu_);
        status_.state = "seeding";
    }
    log::info("replica.reseed", {{"why", why}});
    const std::string seed = store_.path() + ".next";
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(seed + suffix, ec);
    auto got = primary_.snapshot(seed);
    if (!got) return got.error();
    {
        // What arrived must be what its headers say: a position and rows that sum to it.
        auto db = sql::Db::open(seed);
        if (!db) return db.error();
        ReferenceTables tables(*db);
        auto at = tables.position();
        if (!at) return at.error();
        auto recomputed = tables.recompute_checksum();
        if (!recomputed) return recomputed.error();
        if (at->pos != got->pos || at->checksum != got->checksum || *recomputed != got->checksum)
            return make_error(ErrorClass::Protocol, "primary.bad_snapshot",
                              "the snapshot's rows do not match its position and checksum");
    }
    if (auto r = store_.replace_with(seed); !r) return r.error();
    reseeds.inc();
    {
        std::lock_guard lock(mu_);
        status_.pos = got->pos;
        status_.checksum = got->checksum;
        ++status_.reseeds;
        status_.state = "following";
    }
    moved_.notify_all();
    log::info("replica.seeded", {{"position", got->pos}});
    return {};
}

void Follower::publish_metrics(const ReplicaStatus& s) const {
    auto& m = metrics::global();
    m.gauge("hisgate_replica_position", "The last stream entry this replica applied").set(static_cast<double>(s.pos));
    m.gauge("hisgate_replica_lag_entries", "Stream entries the primary has that this replica has not applied")
        .set(static_cast<double>(s.lag_entries));
    m.gauge("hisgate_replica_lag_seconds", "How far behind the primary this replica is, in seconds").set(s.lag_seconds);
}

}  // namespace hisgate::controlplane::replica
