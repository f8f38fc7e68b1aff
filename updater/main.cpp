// hisgate-updater: the program beside the agent that installs releases (updater/updater.h,
// docs/updater.md). Exit status: 0 installed (or nothing to do), 1 refused or rolled back
// (the reason on stderr and in <root>/updater-result.json), 2 bad arguments or config.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <atomic>

#include "common/log.h"
#include "common/program.h"
#include "release/package.h"
#include "updater/updater.h"

using namespace hisgate;

namespace {

int usage_error(const std::string& why) {
    std::fprintf(stderr, "hisgate-updater: %s\n%s", why.c_str(), updater::updater_usage().c_str());
    return 2;
}

// --flag value pairs after the command.
bool parse_flags(int argc, char** argv, std::map<std::string, std::string>& flags, std::string& bad) {
    for (int i = 2; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.substr(0, 2) != "--" || i + 1 >= argc) {
            bad = "unexpected argument " + std::string(a);
            return false;
        }
        flags[std::string(a.substr(2))] = argv[++i];
    }
    return true;
}

int report(const updater::InstallOutcome& out) {
    std::printf("%s\n", out.to_json().dump().c_str());
    if (out.ok) return 0;
    if (out.error) std::fprintf(stderr, "hisgate-updater: %s\n", out.error->describe().c_str());
    return 1;
}

int make_override(std::map<std::string, std::string>& f) {
    for (const char* need : {"root-key", "version", "not-after", "out"})
        if (!f.count(need)) return usage_error(std::string("override needs --") + need);
    auto key = release::Ed25519Key::load_file(f["root-key"]);
    auto version = release::parse_version(f["version"]);
    auto until = release::parse_time(f["not-after"], "--not-after");
    for (const Error* e : {key ? nullptr : &key.error(), version ? nullptr : &version.error(), until ? nullptr : &until.error()})
        if (e) return usage_error(e->describe());
    auto doc = updater::make_downgrade_override(*key, *version, *until, f.count("reason") ? f["reason"] : "");
    if (!doc) return usage_error(doc.error().describe());
    if (auto w = release::write_file_atomic(f["out"], doc->dump(2) + "\n"); !w) return usage_error(w.error().describe());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage_error("a command is needed");
    std::string command = argv[1];
    if (command == "--help") {
        std::printf("%s", updater::updater_usage().c_str());
        return 0;
    }
    if (command == "--version") {
        print_version("hisgate-updater");
        return 0;
    }
    std::map<std::string, std::string> flags;
    std::string bad;
    if (!parse_flags(argc, argv, flags, bad)) return usage_error(bad);
    if (command == "override") return make_override(flags);
    if (command != "install" && command != "resume" && command != "serve" && command != "status")
        return usage_error("unknown command " + command);
    if (!flags.count("config")) return usage_error(command + " needs --config FILE");
    auto reader = ConfigReader::load_file(flags["config"]);
    if (!reader) return invalid_config("hisgate-updater", reader.error());
    auto cfg = updater::read_updater_config(reader.value());
    if (!cfg) return invalid_config("hisgate-updater", cfg.error());
    log::init("updater", {}, log::Level::Info);
    if (command == "serve") block_shutdown_signals();
    updater::Updater u(cfg.value());

    int status = 0;
    if (command == "install") {
        if (!flags.count("manifest")) return usage_error("install needs --manifest PATH|URL");
        updater::InstallRequest req{flags["manifest"], flags.count("override") ? flags["override"] : "", ""};
        auto out = u.install(req);
        if (!out) {
            std::fprintf(stderr, "hisgate-updater: %s\n", out.error().describe().c_str());
            status = 2;
        } else {
            status = report(*out);
        }
    } else if (command == "resume") {
        auto out = u.resume();
        if (!out) {
            std::fprintf(stderr, "hisgate-updater: %s\n", out.error().describe().c_str());
            status = 2;
        } else if (!out->has_value()) {
            std::printf("{\"resumed\": false, \"running\": \"%s\"}\n", u.current_version().c_str());
        } else {
            status = report(**out);
        }
    } else if (command == "status") {
        for (const char* f : {"/updater-state.json", "/updater-result.json"}) {
            auto text = release::read_file_bounded(cfg->root_dir + f, 1 << 20);
            std::printf("%s: %s\n", f + 1, text ? text->c_str() : "(none)\n");
        }
        std::printf("current: %s\n", u.current_version().c_str());
    } else {
        if (cfg->spool_dir.empty()) return usage_error("serve needs spool_dir in the config");
        std::atomic<bool> stop{false};
        std::thread waiter([&] {
            wait_for_shutdown();
            stop = true;
        });
        u.serve(stop);
        waiter.join();
    }
    // Tests count the crash points a whole run passes (HISGATE_UPDATER_DIE_AT, updater.h).
    if (std::getenv("HISGATE_UPDATER_DIE_AT"))
        std::fprintf(stderr, "hisgate-updater: crash points passed: %d\n", updater::crash_points_passed());
    return status;
}
