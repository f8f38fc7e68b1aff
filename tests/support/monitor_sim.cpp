#include "tests/support/monitor_sim.h"

#include "tests/support/system.h"

namespace hisgate::test {

MonitorSim::MonitorSim(const std::string& dir, const std::string& name, nlohmann::json config)
    : control_port_(free_port()), log_(dir + "/monitor-sim-" + name + ".log") {
    config["control"] = {{"port", control_port_}};
    config["log"] = {{"file", log_}};
    std::string path = dir + "/monitor-sim-" + name + ".json";
    write_file(path, config.dump(2));
    process_ = Process({binary("tools/monitor-sim/hisgate-monitor-sim"), "--config", path},
                       dir + "/monitor-sim-" + name + ".out");
}

bool MonitorSim::start() {
    using namespace std::chrono_literals;
    return process_.start() && wait_port_open(control_port_, 10s);
}

bool MonitorSim::fault(const std::string& device, const nlohmann::json& fault) {
    return http_send(control_port_, "POST", "/monitors/" + device + "/faults", fault.dump()).status == 200;
}

nlohmann::json MonitorSim::status() {
    auto reply = http_get(control_port_, "/monitors");
    if (reply.status != 200) return nullptr;
    return nlohmann::json::parse(reply.body, nullptr, false);
}

nlohmann::json MonitorSim::monitor(const std::string& device) {
    auto s = status();
    if (!s.is_object()) return nullptr;
    for (const auto& m : s["monitors"])
        if (m["device"] == device) return m;
    return nullptr;
}

}  // namespace hisgate::test
