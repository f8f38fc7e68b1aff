// hisgate-monitor-sim: simulated bedside monitors for tests, benchmarks and the demo
// (docs/monitor-sim.md). Each monitor announces itself by UDP, serves the gateway's TCP
// connection, and sends ORU^R01 over MLLP once a period, with faults on command.
#include <cstdio>
#include <memory>
#include <regex>
#include <vector>

#include "common/config.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/program.h"
#include "common/settings.h"
#include "monitor-sim/announcer.h"
#include "monitor-sim/monitor_faults.h"
#include "monitor-sim/sim_monitor.h"

using namespace hisgate;
using namespace hisgate::monitor_sim;

static const std::string kUsage = std::string(R"(usage: hisgate-monitor-sim --config FILE | --help | --version

Simulated bedside monitors. FILE is JSON:
  monitors             int     how many monitors (default 4, at most 5000)
  first_bed            int     the first bed's number (default 1): beds BED-001, BED-002, ...
  ward                 string  the ward they are on (default "ICU")
  models               array   [{"model": "PM-9000", "interface": "unsolicited" | "realtime"}, ...],
                               given to the monitors in turn (default one unsolicited model, PM-9000)
  seed                 int     the seed of the values (default 1): same seed, same values
  period_ms            int     one result per period per monitor (default 1000: 1 Hz)
  alarm_every          int     an alarm after every Nth result (default 10; 0 = on command only)
  time_precision       string  "seconds" (default) or "milliseconds": HL7 times of the unsolicited
                               interface as YYYYMMDDHHMMSS or YYYYMMDDHHMMSS.mmm (the benchmark
                               times the path to the ward feed by them)
  listen_address       string  the address the monitors listen on and announce (default 127.0.0.1)
  discovery.target     string  where announcements go (default 127.255.255.255, loopback broadcast)
  discovery.port       int     their UDP port (default 4601)
  discovery.source     string  the address they are sent from (default 127.0.0.1)
  discovery.interval_ms int    how often each monitor announces itself (default 2000)
  control.bind         string  address of the control API (default 127.0.0.1)
  control.port         int     its port (default 0 = any free port, logged)
)") + kLogConfigHelp + R"(
Control API:
  GET  /monitors                    {"monitors": [{"device", "model", "bed", "interface", "port",
                                     "connected", "connections", "results", "alarms"}], "announcements"}
  POST /monitors/{device}/faults    one fault (docs/monitor-sim.md), e.g. {"kind": "disconnect"};
                                    {device} "all" applies it to every monitor
)";

namespace {

constexpr std::size_t kMaxControlBody = 4096;

void serve_control(std::vector<std::unique_ptr<SimMonitor>>& monitors, Announcer& announcer,
                   Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    const std::string& uri = req.getURI();
    if (uri == "/monitors" && req.getMethod() == "GET") {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& m : monitors) list.push_back(m->status());
        return send_json(res, 200, {{"monitors", list}, {"announcements", announcer.sent()}});
    }
    static const std::regex kFaults("^/monitors/([A-Za-z0-9_-]{1,64})/faults$");
    std::smatch match;
    if (uri.size() <= 128 && std::regex_match(uri, match, kFaults) && req.getMethod() == "POST") {
        auto body = read_body(req, kMaxControlBody, "a fault");
        if (!body) return send_error_json(res, 400, body.error());
        auto doc = nlohmann::json::parse(body.value(), nullptr, false);
        if (doc.is_discarded()) return send_error_json(res, 400, make_error(ErrorClass::BadInput, "faults.invalid_json", "the body is not JSON"));
        auto fault = FaultCommand::from_json(doc);
        if (!fault) return send_error_json(res, 400, fault.error());
        int applied = 0;
        for (auto& m : monitors) {
            if (match[1] == "all" || m->who().device_id == match[1].str()) {
                m->command(fault.value());
                ++applied;
            }
        }
        if (applied == 0) return send_error_json(res, 404, make_error(ErrorClass::NotFound, "monitor.unknown", "no monitor " + match[1].str()));
        return send_json(res, 200, {{"applied", applied}});
    }
    send_error_json(res, 404, make_error(ErrorClass::NotFound, "http.not_found",
                                         "the control API serves GET /monitors and POST /monitors/{device}/faults"));
}

}  // namespace

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "hisgate-monitor-sim", kUsage);
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    int count = static_cast<int>(c.integer("monitors", 4, 1, 5000));
    int first_bed = static_cast<int>(c.integer("first_bed", 1, 1, 100000));
    std::string ward = c.string("ward", "ICU");
    std::vector<std::pair<std::string, Interface>> models;
    if (const auto* section = c.section("models")) {
        if (!section->is_array() || section->empty()) c.problem("models", "a non-empty array", describe_json_type(*section));
        else
            for (std::size_t i = 0; i < section->size(); ++i) {
                const auto& m = (*section)[i];
                std::string where = "models[" + std::to_string(i) + "]";
                if (!m.is_object() || !m.contains("model") || !m["model"].is_string() || m["model"].get<std::string>().empty() ||
                    m["model"].get<std::string>().size() > 64) {
                    c.problem(where + ".model", "a string of 1-64 characters", m.is_object() && m.contains("model") ? describe_json_type(m["model"]) : "nothing");
                    continue;
                }
                std::string iface = m.value("interface", std::string("unsolicited"));
                if (iface != "unsolicited" && iface != "realtime") {
                    c.problem(where + ".interface", "unsolicited or realtime", iface);
                    continue;
                }
                models.emplace_back(m["model"].get<std::string>(), iface == "realtime" ? Interface::Realtime : Interface::Unsolicited);
            }
    }
    if (models.empty()) models.emplace_back("PM-9000", Interface::Unsolicited);
    auto seed = static_cast<uint64_t>(c.integer("seed", 1, 0, INT64_MAX));
    auto period = std::chrono::milliseconds(c.integer("period_ms", 1000, 1, 3600000));
    int alarm_every = static_cast<int>(c.integer("alarm_every", 10, 0, 1000000));
    std::string precision = c.string("time_precision", "seconds");
    if (precision != "seconds" && precision != "milliseconds") c.problem("time_precision", "seconds or milliseconds", precision);
    std::string listen_address = c.string("listen_address", "127.0.0.1");
    AnnouncerOptions announce;
    announce.target = c.string("discovery.target", "127.255.255.255");
    announce.port = static_cast<uint16_t>(c.integer("discovery.port", 4601, 1, 65535));
    announce.source = c.string("discovery.source", "127.0.0.1");
    announce.interval = std::chrono::milliseconds(c.integer("discovery.interval_ms", 2000, 10, 3600000));
    std::string control_bind = c.string("control.bind", "127.0.0.1");
    auto control_port = static_cast<uint16_t>(c.integer("control.port", 0, 0, 65535));
    auto log_settings = read_log_settings(c);
    if (auto done = c.finish(); !done) return invalid_config("hisgate-monitor-sim", done.error());
    log::init("monitor-sim", log_settings.file, log_settings.level);

    std::vector<std::unique_ptr<SimMonitor>> monitors;
    Announcer* announcer_ptr = nullptr;
    for (int i = 0; i < count; ++i) {
        MonitorOptions o;
        int bed = first_bed + i;
        char id[32], bed_name[32];
        std::snprintf(id, sizeof id, "MON-%04d", bed);
        std::snprintf(bed_name, sizeof bed_name, "BED-%03d", bed);
        const auto& [model, iface] = models[static_cast<std::size_t>(i) % models.size()];
        o.who = {id, model, ward, bed, bed_name, iface, precision == "milliseconds"};
        o.listen_address = listen_address;
        o.seed = seed;
        o.period = period;
        o.alarm_every = alarm_every;
        monitors.push_back(std::make_unique<SimMonitor>(o, [&announcer_ptr] {
            if (announcer_ptr) announcer_ptr->now();
        }));
    }
    for (auto& m : monitors) {
        if (auto s = m->start(); !s) {
            std::fprintf(stderr, "hisgate-monitor-sim: %s\n", s.error().describe().c_str());
            return 2;
        }
    }
    std::vector<SimMonitor*> raw;
    for (auto& m : monitors) raw.push_back(m.get());
    Announcer announcer(announce, raw);
    if (auto s = announcer.start(); !s) {
        std::fprintf(stderr, "hisgate-monitor-sim: %s\n", s.error().describe().c_str());
        return 2;
    }
    announcer_ptr = &announcer;
    HttpServer control(control_bind, control_port, [&](auto& req, auto& res) { serve_control(monitors, announcer, req, res); });
    if (auto s = control.start(); !s) {
        std::fprintf(stderr, "hisgate-monitor-sim: %s\n", s.error().describe().c_str());
        return 2;
    }
    log::info("monitor_sim.started", {{"monitors", count}, {"control_port", control.port()},
                                      {"discovery", announce.target + ":" + std::to_string(announce.port)}});
    std::printf("hisgate-monitor-sim: %d monitors, control port %u\n", count, control.port());
    std::fflush(stdout);
    wait_for_shutdown();
    announcer_ptr = nullptr;
    announcer.stop();
    control.stop();
    for (auto& m : monitors) m->stop();
    log::info("monitor_sim.stopped");
    return 0;
}
