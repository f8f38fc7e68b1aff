// What the updater's tests share: releases of the real agent built and signed by the real
// `hisgate release` (one stripped binary, its version stamped in bin/VERSION), and a site:
// an updater root, the agent started and stopped through bench/updater/agent-ctl.sh (what
// systemd does in production) and hisgate-updater run as a process.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/system.h"

namespace hisgate::test::updater_site {

namespace fs = std::filesystem;

inline Captured run_hisgate(std::vector<std::string> args) {
    args.insert(args.begin(), binary("cli/hisgate"));
    return run_capture(args, std::chrono::seconds(120));
}

// A test's temporary directory, removed at the end of its scope (declare it first, so it
// goes last) unless HISGATE_KEEP_TEST_DIRS is set.
struct TempDir {
    std::string path;
    explicit TempDir(const std::string& prefix) : path(make_temp_dir(prefix)) {}
    ~TempDir() {
        std::error_code ec;
        if (!std::getenv("HISGATE_KEEP_TEST_DIRS")) fs::remove_all(path, ec);
    }
};

// Keys (a root, a signing key it certified) and a directory of signed releases.
class ReleaseKit {
public:
    // MigratesStateForward: the agent behind a start script that first does what a release
    // with state-file schema 4 would do to the file (agent/task_store.cpp, kMinReader): a
    // new table and a new column with a default, the version raised to 4, the oldest reader
    // kept at 3. Needs migrated_state_file().
    enum class Build { Good, CrashesOnStart, MigratesStateForward };

    explicit ReleaseKit(const std::string& dir) : dir_(dir) {
        fs::create_directories(keys() );
        fs::create_directories(releases());
        ok_ = run_hisgate({"release", "keygen", "--out", keys() + "/root"}).status == 0 &&
              run_hisgate({"release", "keygen", "--out", keys() + "/signing"}).status == 0 &&
              run_hisgate({"release", "certify", "--root", keys() + "/root.key", "--key", keys() + "/signing.pub",
                           "--name", "test", "--days", "30", "--out", keys() + "/signing.cert.json"})
                      .status == 0 &&
              run_capture({"/usr/bin/strip", "-o", dir_ + "/agent.stripped", binary("agent/hisgate-agent")}).status == 0;
    }
    bool ok() const { return ok_; }
    std::string keys() const { return dir_ + "/keys"; }
    std::string releases() const { return dir_ + "/releases"; }
    std::string manifest(const std::string& v) const { return releases() + "/" + v + "/manifest.json"; }
    // The state file a MigratesStateForward build migrates.
    void migrated_state_file(const std::string& path) { migrated_state_file_ = path; }

    // Builds and signs release `v`: the agent stamped `stamp` (default: v), or a program
    // that exits 3 as it starts; shipping `catalog` (a merged catalog file) when given, else
    // the build's own parameter catalog.
    Captured build(const std::string& v, Build kind = Build::Good, std::string stamp = "", std::string protocol = "1-2",
                   const std::string& releases_dir = "", const std::string& catalog = "") {
        std::string tree = dir_ + "/tree-" + v;
        fs::remove_all(tree);
        fs::create_directories(tree + "/bin");
        if (kind == Build::Good) {
            fs::copy_file(dir_ + "/agent.stripped", tree + "/bin/hisgate-agent");
        } else if (kind == Build::MigratesStateForward) {
            fs::copy_file(dir_ + "/agent.stripped", tree + "/bin/hisgate-agent.real");
            fs::permissions(tree + "/bin/hisgate-agent.real", fs::perms(0755));
            write_file(tree + "/bin/hisgate-agent",
                       "#!/bin/sh\ndb='" + migrated_state_file_ + "'\n"
                       "if [ \"$(sqlite3 -cmd '.timeout 5000' \"$db\" 'PRAGMA user_version')\" = 3 ]; then\n"
                       "  sqlite3 -cmd '.timeout 5000' \"$db\" 'BEGIN IMMEDIATE; "
                       "CREATE TABLE task_notes(task_row INTEGER PRIMARY KEY, note TEXT NOT NULL); "
                       "ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0; "
                       "UPDATE store_format SET min_reader = 3; PRAGMA user_version = 4; COMMIT;' || exit 4\n"
                       "fi\n"
                       "exec \"$(dirname \"$0\")/hisgate-agent.real\" \"$@\"\n");
        } else {
            write_file(tree + "/bin/hisgate-agent", "#!/bin/sh\necho broken build >&2\nexit 3\n");
        }
        fs::permissions(tree + "/bin/hisgate-agent", fs::perms(0755));
        write_file(tree + "/bin/VERSION", (stamp.empty() ? v : stamp) + "\n");
        std::string out_root = releases_dir.empty() ? releases() : releases_dir;
        std::vector<std::string> args = {"release", "build", "--version", v, "--from", tree, "--previous", out_root, "--out",
                                         out_root + "/" + v, "--protocol", protocol, "--level", "1"};
        if (!catalog.empty()) args.insert(args.end(), {"--catalog", catalog});
        auto built = run_hisgate(args);
        if (built.status != 0) return built;
        return run_hisgate({"release", "sign", "--manifest", out_root + "/" + v + "/manifest.json", "--key",
                            keys() + "/signing.key", "--cert", keys() + "/signing.cert.json", "--root", keys() + "/root.pub"});
    }

    // Builds each release in turn; false at the first that fails (its output in `failed`).
    struct Wanted {
        std::string version;
        Build kind = Build::Good;
        std::string stamp;
        std::string catalog;  // a merged parameter catalog file; "" = the build's own
    };
    bool build_all(const std::vector<Wanted>& wanted, std::string* failed = nullptr) {
        for (const auto& w : wanted) {
            auto r = build(w.version, w.kind, w.stamp, "1-2", "", w.catalog);
            if (r.status != 0) {
                if (failed) *failed = r.output;
                return false;
            }
        }
        return true;
    }

private:
    std::string dir_;
    std::string migrated_state_file_;
    bool ok_ = false;
};

// An updater root with its agent: no broker or HIS unless the config names them (the agent
// starts without them and serves /metrics).
class Site {
public:
    // `agent_config`: an agent config file to use; "" writes one of its own.
    Site(const std::string& dir, const ReleaseKit& kit, std::string agent_config = "", uint16_t metrics_port = 0)
        : dir_(dir), kit_(kit), port_(metrics_port ? metrics_port : free_port()) {
        fs::create_directories(dir_ + "/root");
        fs::create_directories(dir_ + "/data");
        fs::create_directories(dir_ + "/spool");
        if (agent_config.empty()) {
            write_file(dir_ + "/params.json", R"({"hospital": {"id": "U001", "region": "south"},
                "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:1", "connect_timeout": "1s"}})");
            nlohmann::json a = {{"params_file", dir_ + "/params.json"},
                                {"state_db", dir_ + "/data/agent.db"},
                                {"broker", {{"uri", "tcp://127.0.0.1:1"}}},
                                {"metrics", {{"port", port_}}},
                                {"updater", {{"spool_dir", dir_ + "/spool"}}},
                                {"log", {{"file", dir_ + "/agent.log"}}}};
            agent_config = dir_ + "/agent.json";
            write_file(agent_config, a.dump(2));
            state_db_ = dir_ + "/data/agent.db";
        } else {
            state_db_ = nlohmann::json::parse(read_file(agent_config))["state_db"].get<std::string>();
        }
        agent_config_ = agent_config;
        write_config();
    }

    // The agent never outlives its test, whatever failed.
    ~Site() { agent("stop"); }
    Site(const Site&) = delete;
    Site& operator=(const Site&) = delete;

    // The updater's config, with `extra` merged in.
    void write_config(const nlohmann::json& extra = nlohmann::json::object()) {
        nlohmann::json c = {{"root_dir", root()},
                            {"root_key", kit_.keys() + "/root.pub"},
                            {"state_files", {state_db_}},
                            {"stop_command", ctl("stop")},
                            {"start_command", ctl("start")},
                            {"health", {{"url", "http://127.0.0.1:" + std::to_string(port_) + "/metrics"},
                                        {"trial_ms", 300}, {"poll_ms", 50}, {"timeout_ms", 2500}}},
                            {"controlplane_protocol", {{"min", 1}, {"max", 2}}},
                            {"spool_dir", dir_ + "/spool"},
                            {"spool_poll_ms", 100}};
        c.merge_patch(extra);
        write_file(config(), c.dump(2));
    }

    std::string root() const { return dir_ + "/root"; }
    std::string config() const { return dir_ + "/updater.json"; }
    std::string spool() const { return dir_ + "/spool"; }
    std::string state_db() const { return state_db_; }
    uint16_t metrics_port() const { return port_; }

    std::vector<std::string> ctl(const std::string& verb) const {
        return {"/usr/bin/env", "AGENT_ROOT=" + root(), "AGENT_CONFIG=" + agent_config_, "AGENT_PIDFILE=" + dir_ + "/agent.pid",
                "AGENT_LOG=" + dir_ + "/agent.out", std::string(HISGATE_SOURCE_DIR) + "/bench/updater/agent-ctl.sh", verb};
    }
    bool agent(const std::string& verb) const { return run_capture(ctl(verb)).status == 0; }

    // hisgate-updater <args> --config <config>, with HISGATE_UPDATER_DIE_AT=die_at when > 0.
    Captured updater(std::vector<std::string> args, long die_at = 0) const {
        std::vector<std::string> argv = {"/usr/bin/env"};
        if (die_at > 0) argv.push_back("HISGATE_UPDATER_DIE_AT=" + std::to_string(die_at));
        argv.push_back(binary("updater/hisgate-updater"));
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), {"--config", config()});
        return run_capture(argv, std::chrono::seconds(120));
    }
    Captured install(const std::string& version, long die_at = 0, const std::string& override_file = "") const {
        std::vector<std::string> args = {"install", "--manifest", kit_.manifest(version)};
        if (!override_file.empty()) args.insert(args.end(), {"--override", override_file});
        return updater(args, die_at);
    }

    // The version `current` names ("" when none).
    std::string current() const {
        std::error_code ec;
        auto target = fs::read_symlink(root() + "/current", ec);
        return ec ? "" : target.filename().string();
    }
    // The version the running agent reports on /metrics ("" when it does not answer).
    std::string running() const {
        auto page = http_get(port_, "/metrics");
        std::smatch m;
        static const std::regex build_info(R"re(hisgate_build_info\{[^}]*version="([^"]*)")re");
        if (page.status != 200 || !std::regex_search(page.body, m, build_info)) return "";
        return m[1].str();
    }
    // A first install of `v` through the updater, and the agent reporting it.
    bool start_at(const std::string& v) const { return install(v).status == 0 && eventually_running(v); }
    bool eventually_running(const std::string& v) const {
        return eventually([&] { return running() == v; }, std::chrono::seconds(15));
    }
    int agent_pid() const {
        std::error_code ec;
        if (!fs::exists(dir_ + "/agent.pid", ec)) return -1;
        return std::atoi(read_file(dir_ + "/agent.pid").c_str());
    }
    nlohmann::json result() const {
        auto j = nlohmann::json::parse(read_file(root() + "/updater-result.json"), nullptr, false);
        return j.is_discarded() ? nlohmann::json::object() : j;
    }
    std::string journal_phase() const {
        std::error_code ec;
        if (!fs::exists(root() + "/updater-state.json", ec)) return "";
        return nlohmann::json::parse(read_file(root() + "/updater-state.json")).value("phase", "");
    }

private:
    std::string dir_;
    const ReleaseKit& kit_;
    uint16_t port_;
    std::string agent_config_;
    std::string state_db_;
};

}  // namespace hisgate::test::updater_site
