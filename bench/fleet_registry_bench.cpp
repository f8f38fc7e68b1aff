// How many state messages (agents' heartbeats) the control plane's fleet registry applies
// per second, each written through to its SQLite store, beside reading the same messages
// without applying them (Envelope::parse and the bounds: the ceiling) in the same run.
//
//   fleet_registry_bench [--hospitals N] [--rounds R] [--dir DIR]
//
// N agents are born, then each sends R heartbeats (a real agent's body: capabilities,
// queue figures). At 2,000 agents heartbeating every 30 s the registry needs ~67/s.
// Prints a RESULT line per contender and the ratio. Exit status 1 if any message was refused.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"
#include "controlplane/hospital_registry.h"
#include "transport/envelope.h"
#include "transport/topics.h"

using namespace hisgate;

namespace {
IncomingMessage state(const std::string& hid, int64_t seq, bool heartbeat) {
    nlohmann::json body = {{"online", true},
                           {"session", 1},
                           {"seq", seq},
                           {"name", "Hospital " + hid},
                           {"region", "south"},
                           {"version", "0.9.0"},
                           {"protocol", {{"min", 1}, {"max", 1}}},
                           {"adapter", "hl7v2-mllp"},
                           {"paramsHash", std::string(64, 'a')},
                           {"capabilities", nlohmann::json::array()},
                           {"caps", {{"concurrency", 4}, {"ratePerMinute", 600}}}};
    for (const char* t : {"appointment.book", "appointment.cancel", "payment.pay", "report.get", "records.get"})
        body["capabilities"].push_back({{"type", t}, {"class", "realtime"}, {"changesHis", true}});
    if (heartbeat) {
        body["heartbeatAt"] = "2026-01-05T00:00:00.000Z";
        body["queue"] = {{"depth", seq % 7}, {"oldestSeconds", 1.5}, {"dwellP99Seconds", 0.2}, {"businesses", nlohmann::json::object()}};
    }
    IncomingMessage m;
    m.topic = topics::state(hid);
    m.payload = Envelope::make("state", hid, body).to_json();
    return m;
}
}  // namespace

int main(int argc, char** argv) {
    int hospitals = 2000, rounds = 10;
    std::string dir = std::filesystem::temp_directory_path() / ("fleet-bench-" + std::to_string(::getpid()));
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--hospitals") hospitals = std::atoi(argv[i + 1]);
        else if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
        else if (a == "--dir") dir = argv[i + 1];
    }
    log::init("fleet_registry_bench", "/dev/null", log::Level::Error);
    std::filesystem::create_directories(dir);
    auto store = controlplane::open_sqlite_fleet_store(dir + "/fleet.db");
    if (!store) return std::fprintf(stderr, "%s\n", store.error().describe().c_str()), 1;
    auto registry = controlplane::HospitalRegistry::open(**store, SystemClock::instance(), {1, 1});
    if (!registry) return 1;
    std::vector<IncomingMessage> births, beats;
    for (int h = 0; h < hospitals; ++h) {
        char id[16];
        std::snprintf(id, sizeof id, "H%05d", h);
        births.push_back(state(id, 1, false));
        for (int r = 0; r < rounds; ++r) beats.push_back(state(id, 2 + r, true));
    }
    // Heartbeats in rounds, as they come: every hospital's r-th, then the next round.
    std::vector<IncomingMessage> ordered;
    for (int r = 0; r < rounds; ++r)
        for (int h = 0; h < hospitals; ++h) ordered.push_back(beats[static_cast<size_t>(h * rounds + r)]);

    auto t0 = std::chrono::steady_clock::now();
    size_t parsed = 0;
    for (const auto& m : ordered)
        if (auto e = Envelope::parse(m.payload, limits::kStateBytes); e && !limits::oversized_field(e->body, "body", "x"))
            ++parsed;
    double parse_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    int refused = 0;
    for (const auto& m : births) refused += !(*registry)->apply_state(m).ok();
    t0 = std::chrono::steady_clock::now();
    for (const auto& m : ordered) refused += !(*registry)->apply_state(m).ok();
    double apply_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    double parse_rate = parsed / parse_s, apply_rate = ordered.size() / apply_s;
    std::printf("RESULT parse-only  %zu messages  %.0f msg/s\n", parsed, parse_rate);
    std::printf("RESULT registry    %zu messages  %.0f msg/s (%d hospitals, SQLite write-through, %s)\n", ordered.size(),
                apply_rate, hospitals, dir.c_str());
    std::printf("RATIO registry/parse-only %.2f; headroom over %d agents every 30 s: %.0fx\n", apply_rate / parse_rate, hospitals,
                apply_rate / (hospitals / 30.0));
    std::filesystem::remove_all(dir);
    return refused == 0 && parsed == ordered.size() ? 0 : 1;
}
