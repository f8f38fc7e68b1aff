// hisgate-pay-sim: a simulated payment provider with a WeChat Pay v3-like API, its own
// SQLite records, signed asynchronous notifications and faults on command
// (docs/pay-sim.md). For tests, benchmarks and the demo; never in front of real money.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/program.h"
#include "common/settings.h"
#include "pay-sim/api.h"

using namespace hisgate;

static const std::string kUsage = std::string(R"(usage: hisgate-pay-sim --config FILE | --help | --version

A simulated payment provider (docs/pay-sim.md). FILE is JSON:
  db                  string, required  its SQLite file (orders, refunds; created if absent)
  merchant_key_file   string            file holding the merchant key notifications are signed with
  merchant_key_env    string            or: the environment variable holding it (exactly one of the two;
                                        the key is at least 16 bytes; a final line end is dropped)
  listen.bind         string            the provider API's address (default 127.0.0.1)
  listen.port         int               its port (default 0 = any free port)
  control.bind        string            the control API's address (default 127.0.0.1)
  control.port        int               its port (default 0 = any free port)
  port_file           string            where to write {"port", "controlPort"} once listening
  notify.max_attempts int               attempts per notification, the first included (default 6, 1-20)
  notify.first_retry_ms int             wait before the first retry, doubling (default 1000)
  notify.retry_cap_ms int               longest wait between attempts (default 60000)
  notify.timeout_ms   int               one attempt's timeout (default 3000)
  notify.senders      int               notifications sent at once, each sender on its own kept
                                        connection (default 4, 1-64)
  notify.keep_alive_ms int              a kept connection idle longer is opened anew (default 4000,
                                        0-60000; under the receiver's own idle limit)
  faults              array             faults in force at start: [{"kind", "count", "out_trade_no", "delay_ms"}]
)") + kLogConfigHelp + R"(
Provider API: POST /v3/pay/transactions/native, GET /v3/pay/transactions/out-trade-no/{no},
POST /v3/pay/transactions/out-trade-no/{no}/close, POST /v3/refund/domestic/refunds,
POST /v3/checkout/{prepay_id} (the patient pays), GET /v3/bill?date=YYYY-MM-DD.
Control API: GET/POST/DELETE /faults, GET /stats. Fault kinds: notify_lost, notify_duplicate,
notify_late (delay_ms), query_notpay_once, close_paid_in_gap, refund_fail.
)";

namespace {

// The key from a file or an environment variable; never from the config itself.
Result<std::string> read_key(const std::string& file, const std::string& env) {
    std::string key;
    if (!file.empty() == !env.empty())
        return make_error(ErrorClass::Config, "paysim.key", "merchant_key_file or merchant_key_env: expected exactly one");
    if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        if (!in) return make_error(ErrorClass::Config, "paysim.key", "merchant_key_file " + file + " cannot be read");
        std::getline(in, key, '\0');
    } else {
        const char* v = std::getenv(env.c_str());
        if (!v) return make_error(ErrorClass::Config, "paysim.key", "merchant_key_env: the variable " + env + " is not set");
        key = v;
    }
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
    if (key.size() < 16 || key.size() > 4096)
        return make_error(ErrorClass::Config, "paysim.key", "the merchant key is " + std::to_string(key.size()) +
                                                                " bytes; expected 16 to 4096");
    return key;
}

// Written whole under another name, then renamed: a reader never sees half of it.
bool write_port_file(const std::string& path, uint16_t port, uint16_t control) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << nlohmann::json{{"port", port}, {"controlPort", control}}.dump() << "\n";
        if (!out) return false;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    return !ec;
}

}  // namespace

int main(int argc, char** argv) {
    block_shutdown_signals();
    auto start = start_program(argc, argv, "hisgate-pay-sim", kUsage);
    if (!start.config) return start.exit_status;
    auto& c = *start.config;
    std::string db_path = c.string("db");
    std::string key_file = c.string("merchant_key_file", "");
    std::string key_env = c.string("merchant_key_env", "");
    std::string bind = c.string("listen.bind", "127.0.0.1");
    auto port = static_cast<uint16_t>(c.integer("listen.port", 0, 0, 65535));
    std::string control_bind = c.string("control.bind", "127.0.0.1");
    auto control_port = static_cast<uint16_t>(c.integer("control.port", 0, 0, 65535));
    std::string port_file = c.string("port_file", "");
    paysim::NotifyOptions notify;
    notify.max_attempts = static_cast<int>(c.integer("notify.max_attempts", 6, 1, 20));
    notify.first_retry = std::chrono::milliseconds(c.integer("notify.first_retry_ms", 1000, 10, 600'000));
    notify.retry_cap = std::chrono::milliseconds(c.integer("notify.retry_cap_ms", 60'000, 10, 3'600'000));
    notify.timeout = std::chrono::milliseconds(c.integer("notify.timeout_ms", 3000, 100, 60'000));
    notify.senders = static_cast<int>(c.integer("notify.senders", 4, 1, 64));
    notify.keep_alive = std::chrono::milliseconds(c.integer("notify.keep_alive_ms", 4000, 0, 60'000));
    paysim::FaultBook faults;
    if (const auto* section = c.section("faults")) {
        if (!section->is_array()) c.problem("faults", "an array of faults", describe_json_type(*section));
        else
            for (size_t i = 0; i < section->size(); ++i) {
                auto f = paysim::fault_from_json((*section)[i], "faults[" + std::to_string(i) + "]");
                if (f) faults.add(f.value());
                else c.problem("faults[" + std::to_string(i) + "]", "a fault", f.error().message);
            }
    }
    auto log_settings = read_log_settings(c);
    if (auto done = c.finish(); !done) return invalid_config("hisgate-pay-sim", done.error());
    auto key = read_key(key_file, key_env);
    if (!key) return invalid_config("hisgate-pay-sim", key.error());
    log::init("pay-sim", log_settings.file, log_settings.level);

    auto store = paysim::PayStore::open(db_path);
    if (!store) {
        std::fprintf(stderr, "hisgate-pay-sim: %s\n", store.error().describe().c_str());
        return 2;
    }
    auto& clock = SystemClock::instance();
    paysim::Notifier notifier(clock, key.value(), notify);
    notifier.start();
    paysim::ProviderApi api(*store.value(), faults, notifier, clock);
    HttpServer server(bind, port, [&](auto& req, auto& res) { api.handle(req, res); });
    HttpServer control(control_bind, control_port,
                       [&](auto& req, auto& res) { paysim::serve_control(faults, notifier, req, res); });
    for (auto* s : {&server, &control})
        if (auto started = s->start(); !started) {
            std::fprintf(stderr, "hisgate-pay-sim: %s\n", started.error().describe().c_str());
            return 2;
        }
    if (!port_file.empty() && !write_port_file(port_file, server.port(), control.port())) {
        std::fprintf(stderr, "hisgate-pay-sim: cannot write port_file %s\n", port_file.c_str());
        return 2;
    }
    log::info("paysim.started", {{"port", server.port()}, {"control_port", control.port()}});
    std::printf("hisgate-pay-sim serving %s:%u, control %s:%u\n", bind.c_str(), server.port(), control_bind.c_str(),
                control.port());
    std::fflush(stdout);
    wait_for_shutdown();
    server.stop();
    control.stop();
    notifier.stop();
    log::info("paysim.stopped");
    return 0;
}
