#include "agent/vitals/vitals_gateway.h"

#include <condition_variable>
#include <map>
#include <mutex>

#include "agent/vitals/connection_manager.h"
#include "agent/vitals/discovery_listener.h"
#include "agent/vitals/drop_log.h"
#include "agent/vitals/vitals_forwarder.h"
#include "agent/vitals/vitals_store.h"
#include "common/log.h"
#include "common/metrics.h"

namespace hisgate::vitals {

// Declared in the order they start; destroyed in reverse (discovery first, store last).
struct VitalsGateway::Parts {
    explicit Parts(VitalsSettings s, Clock& c) : settings(std::move(s)), clock(c), drops(c) {}
    VitalsSettings settings;
    Clock& clock;
    DropLog drops;
    std::unique_ptr<VitalsStore> store;
    std::unique_ptr<ConnectionManager> connections;
    std::unique_ptr<VitalsForwarder> forwarder;  // reads the connections' states
    std::unique_ptr<DiscoveryListener> discovery;
    // Publishes the monitors' states as gauges and wakes the forwarder, four times a second.
    std::mutex mu;
    std::condition_variable cv;
    bool stopping = false;
    std::thread figures;
};

namespace {
void publish_states(const ConnectionManager& connections) {
    std::map<std::string, int> by_state = {{"connecting", 0}, {"connected", 0}, {"stale", 0}, {"lost", 0}};
    for (const auto& m : connections.monitors()) ++by_state[to_string(m.state)];
    for (const auto& [state, n] : by_state)
        metrics::global()
            .gauge("hisgate_vitals_monitors_by_state", "Monitors the gateway knows, by state", {{"state", state}})
            .set(n);
}
nlohmann::json monitors_body(const ConnectionManager& connections) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : connections.monitors())
        list.push_back({{"device", m.device}, {"model", m.model}, {"ward", m.ward}, {"bed", m.bed},
                        {"interface", to_string(m.interface)}, {"state", to_string(m.state)},
                        {"lastSampleAt", m.last_sample_ms}, {"connections", m.connections}});
    return {{"monitors", list}};
}
}  // namespace

Result<std::unique_ptr<VitalsGateway>> VitalsGateway::start(VitalsSettings settings, const std::string& hospital_id,
                                                            const std::string& state_db, MqttLink& link, Clock& clock) {
    std::unique_ptr<VitalsGateway> g(new VitalsGateway());
    g->parts_ = std::make_unique<Parts>(std::move(settings), clock);
    auto& p = *g->parts_;
    VitalsStoreOptions options;
    options.buffer_max = p.settings.buffer_max_samples;
    options.retention = p.settings.retention;
    auto store = VitalsStore::open(state_db, options, clock, p.drops);
    if (!store) return store.error();
    p.store = std::move(store.value());
    p.connections = std::make_unique<ConnectionManager>(p.settings, *p.store, p.drops, clock);
    p.forwarder = std::make_unique<VitalsForwarder>(*p.store, link, hospital_id, p.settings.batch_max, clock,
                                                    [&p] { return monitors_body(*p.connections); });
    p.forwarder->start();
    p.discovery = std::make_unique<DiscoveryListener>(p.settings, p.drops, [&p](const Announcement& a) {
        p.connections->on_announcement(a);
    });
    if (auto listening = p.discovery->start(); !listening) {
        g->stop();
        return listening.error();
    }
    p.figures = std::thread([&p] {
        std::unique_lock lock(p.mu);
        while (!p.stopping) {
            lock.unlock();
            publish_states(*p.connections);
            p.forwarder->wake();  // what the links stored meanwhile
            lock.lock();
            p.clock.wait_for(lock, p.cv, std::chrono::milliseconds(250), [&p] { return p.stopping; });
        }
    });
    log::info("vitals.started", {{"discovery_port", p.discovery->port()}, {"codes", p.settings.codes.size()},
                                 {"buffer_max_samples", p.settings.buffer_max_samples}});
    return g;
}

VitalsGateway::~VitalsGateway() { stop(); }

uint16_t VitalsGateway::discovery_port() const { return parts_ && parts_->discovery ? parts_->discovery->port() : 0; }

void VitalsGateway::stop() {
    if (!parts_) return;
    auto& p = *parts_;
    {
        std::lock_guard lock(p.mu);
        p.stopping = true;
    }
    p.cv.notify_all();
    if (p.figures.joinable()) p.figures.join();
    if (p.discovery) p.discovery->stop();
    if (p.connections) p.connections->stop();
    if (p.store) (void)p.store->flush();
    if (p.forwarder) p.forwarder->stop();
    parts_.reset();  // the store's writer commits anything still queued as it closes
    log::info("vitals.stopped");
}

}  // namespace hisgate::vitals
