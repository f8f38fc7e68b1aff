// hisgate-pay-sim as a real process (docs/pay-sim.md), for tests and benchmarks alike (no
// test framework here: running_pay_sim.h wraps it for Catch): its own directory, a merchant
// key file written fresh (random, never in the repository), both APIs on ports the kernel
// chose (port 0), read back from its port_file.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/random_id.h"
#include "tests/support/process.h"

namespace hisgate::test {

struct PaySimProcess {
    std::string dir = make_temp_dir("pay-sim");
    std::string key = random_hex(32);  // the merchant key, shared with whoever verifies
    uint16_t port = 0, control_port = 0;
    Process sim;

    // Writes the key and the config (`config` merged into it: notify.*, faults, ...) and
    // starts it; false if it did not come up with both ports open.
    bool launch(const nlohmann::json& config = nlohmann::json::object()) {
        write_file(dir + "/merchant.key", key + "\n");
        nlohmann::json c = {{"db", dir + "/pay-sim.db"},
                            {"merchant_key_file", dir + "/merchant.key"},
                            {"port_file", dir + "/ports.json"},
                            {"log", {{"file", dir + "/pay-sim.log"}}}};
        c.update(config);
        write_file(dir + "/pay-sim.json", c.dump());
        return start();
    }

    // Starts it on the config launch() wrote and the records it has (the ports change).
    bool start() {
        std::remove((dir + "/ports.json").c_str());
        sim = Process({binary("tools/pay-sim/hisgate-pay-sim"), "--config", dir + "/pay-sim.json"}, dir + "/pay-sim.out");
        if (!sim.start()) return false;
        bool listed = eventually([&] {
            auto doc = nlohmann::json::parse(read_file(dir + "/ports.json"), nullptr, false);
            if (!doc.is_object() || !doc.contains("port")) return false;
            port = doc["port"].get<uint16_t>();
            control_port = doc["controlPort"].get<uint16_t>();
            return true;
        });
        return listed && wait_port_open(port, std::chrono::milliseconds(10000)) &&
               wait_port_open(control_port, std::chrono::milliseconds(10000));
    }
};

}  // namespace hisgate::test
