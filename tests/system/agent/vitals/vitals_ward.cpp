#include "vitals_ward.h"

#include "common/sqlite.h"
#include "transport/limits.h"
#include "transport/topics.h"

namespace hisgate::test {

using namespace std::chrono_literals;

namespace {
nlohmann::json vitals_params(uint16_t port, const nlohmann::json& overrides) {
    nlohmann::json v = {{"enabled", true},
                        {"ward_networks", {"127.0.0.1/32"}},
                        {"discovery", {{"bind", "0.0.0.0"}, {"port", port}}},
                        {"interfaces", {{"PM-50", "realtime"}}},
                        {"stale_after", "1s"},
                        {"lost_after", "3s"},
                        {"reconnect_backoff_min", "50ms"},
                        {"reconnect_backoff_max", "500ms"}};
    v.merge_patch(overrides);
    return v;
}
}  // namespace

VitalsWard::VitalsWard(const nlohmann::json& vitals, const nlohmann::json& controlplane) : discovery_port_(free_port()) {
    SystemOptions o;
    o.controlplane_config = controlplane.dump();
    o.hospitals = {"H001"};
    o.tls = false;
    o.more_params = {{"H001", nlohmann::json{{"vitals", vitals_params(discovery_port_, vitals)}}.dump()}};
    sys_ = std::make_unique<System>(o);
}

VitalsWard::~VitalsWard() {
    for (auto& s : sims_) s->stop();
    if (subscriber_) subscriber_->stop();
}

bool VitalsWard::start() {
    if (!sys_->start()) return false;
    // A session the broker keeps across the subscriber's disconnects and a broker restart,
    // so what the agent forwards before the subscriber is back is kept for it, not lost.
    auto options = sys_->broker().mqtt_options("controlplane-test", "controlplane-test");
    options.session_expiry = std::chrono::hours(1);
    subscriber_ = std::make_unique<MqttLink>(options);
    subscriber_->subscribe(topics::vitals("H001"));
    subscriber_->on_message([this](const IncomingMessage& m) {
        auto e = Envelope::parse(m.payload, limits::kEventBytes);
        if (!e) return;
        std::lock_guard lock(mu_);
        (e->type == "vitals.monitors" ? monitor_reports_ : batches_).push_back(e.value());
    });
    subscriber_->start();
    return subscriber_->wait_connected(20s);
}

MonitorSim& VitalsWard::add_sim(const std::string& name, const nlohmann::json& config) {
    nlohmann::json c = {{"monitors", 2},
                        {"period_ms", 200},
                        {"alarm_every", 5},
                        {"discovery", {{"port", discovery_port_}, {"interval_ms", 200}}}};
    c.merge_patch(config);
    sims_.push_back(std::make_unique<MonitorSim>(sys_->log_dir(), name, c));
    sims_.back()->start();
    return *sims_.back();
}

std::vector<StoredRow> VitalsWard::rows(const std::string& device) {
    std::vector<StoredRow> out;
    auto db = sql::Db::open(sys_->dir() + "/data/agent-H001.db");
    if (!db) return out;
    auto st = db->prepare(
        "SELECT seq, kind, device, bed, name, unit, value, priority, technical, observed_ms,"
        " seq <= (SELECT value FROM vitals_counters WHERE name = 'forwarded_through') FROM vitals_records"
        " WHERE ?1 = '' OR device = ?1 ORDER BY seq");
    if (!st) return out;
    st->bind(1, device);
    while (st->step()) {
        StoredRow r;
        r.seq = st->integer(0);
        r.kind = static_cast<int>(st->integer(1));
        r.device = st->text(2);
        r.bed = st->text(3);
        r.name = st->text(4);
        r.unit = st->text(5);
        r.value = st->real(6);
        r.priority = st->text(7);
        r.technical = st->integer(8) != 0;
        r.observed_ms = st->integer(9);
        r.forwarded = st->integer(10) != 0;
        out.push_back(r);
    }
    return out;
}

int64_t VitalsWard::samples(const std::string& device) {
    int64_t n = 0;
    for (const auto& r : rows(device)) n += r.kind == 0;
    return n;
}

int64_t VitalsWard::alarms(const std::string& device) {
    int64_t n = 0;
    for (const auto& r : rows(device)) n += r.kind == 1;
    return n;
}

double VitalsWard::metric(const std::string& series) {
    auto page = http_get(sys_->agent_metrics_port("H001"), "/metrics");
    return metric_value(page.body, series);
}

std::string VitalsWard::agent_log() { return read_file(sys_->log_dir() + "/agent-H001.log"); }

std::vector<Envelope> VitalsWard::batches() {
    std::lock_guard lock(mu_);
    return batches_;
}

std::vector<Envelope> VitalsWard::monitor_reports() {
    std::lock_guard lock(mu_);
    return monitor_reports_;
}

std::string VitalsWard::reported_state(const std::string& device) {
    auto reports = monitor_reports();
    if (reports.empty()) return "";
    for (const auto& m : reports.back().body["monitors"])
        if (m["device"] == device) return m["state"].get<std::string>();
    return "";
}

}  // namespace hisgate::test
