#include "updater/updater.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <thread>

#include "common/digest.h"
#include "common/log.h"
#include "release/download.h"
#include "release/package.h"
#include "release/release_dir.h"
#include "release/repository.h"

namespace hisgate::updater {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using release::ReleaseVersion;

// --- crash points (tests) -------------------------------------------------------------

namespace {
int crash_points = 0;
long die_at() {
    static long n = [] {
        const char* v = std::getenv("HISGATE_UPDATER_DIE_AT");
        return v && *v ? std::strtol(v, nullptr, 10) : 0L;
    }();
    return n;
}
}  // namespace

void crash_point(const char* name) {
    ++crash_points;
    if (die_at() > 0 && crash_points == die_at()) {
        log::warn("updater.test_crash_point", {{"point", crash_points}, {"name", name}});
        ::kill(::getpid(), SIGKILL);
    }
}
int crash_points_passed() { return crash_points; }

namespace {

constexpr const char* kJournal = "updater-state.json";
constexpr const char* kResult = "updater-result.json";
constexpr std::size_t kMaxMetricsPage = 4 * 1024 * 1024;

Error updater_error(ErrorClass cls, std::string code, std::string message) {
    return make_error(cls, std::move(code), std::move(message));
}

// --- small HTTP GET (the manifest, the agent's /metrics) --------------------------------

size_t collect(char* data, size_t size, size_t n, void* user) {
    auto* out = static_cast<std::pair<std::string, size_t>*>(user);
    if (out->first.size() + size * n > out->second) return 0;  // over the bound: abort
    out->first.append(data, size * n);
    return size * n;
}

Result<std::string> http_get(const std::string& url, const std::vector<std::string>& headers, size_t max_bytes,
                             std::chrono::milliseconds timeout, const std::string& ca_file = {}) {
    CURL* curl = curl_easy_init();
    if (!curl) return updater_error(ErrorClass::Internal, "updater.http", "curl_easy_init failed");
    std::pair<std::string, size_t> body{std::string(), max_bytes};
    curl_slist* list = nullptr;
    for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    if (rc == CURLE_WRITE_ERROR)
        return updater_error(ErrorClass::BadInput, "updater.too_large", url + " answered more than " + std::to_string(max_bytes) + " bytes");
    if (rc != CURLE_OK) return updater_error(ErrorClass::Unavailable, "updater.http", url + ": " + curl_easy_strerror(rc));
    if (status != 200)
        return updater_error(ErrorClass::Unavailable, "updater.http", url + " answered HTTP " + std::to_string(status));
    return std::move(body.first);
}

bool is_url(const std::string& s) { return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0; }
std::string strip_file_scheme(const std::string& s) { return s.rfind("file://", 0) == 0 ? s.substr(7) : s; }

// --- files ------------------------------------------------------------------------------

Result<void> write_synced(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return updater_error(ErrorClass::Unavailable, "updater.io", "cannot create " + tmp + ": " + std::strerror(errno));
    bool good = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!good || ::rename(tmp.c_str(), path.c_str()) != 0) {
        if (good) err = errno;
        ::unlink(tmp.c_str());
        return updater_error(ErrorClass::Unavailable, "updater.io", "cannot write " + path + ": " + std::strerror(err));
    }
    return release::fsync_dir(fs::path(path).parent_path().string());
}

// Every file under `dir` flushed to disk (one syncfs for the file system holding it).
void sync_tree(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::syncfs(fd);
    ::close(fd);
}

nlohmann::json error_json(const Error& e) {
    return {{"class", std::string(to_string(e.cls))}, {"code", e.code}, {"message", e.message}};
}
Error error_from_json(const nlohmann::json& j) {
    return make_error(error_class_from_string(j.value("class", "internal")), j.value("code", ""), j.value("message", ""));
}

std::string version_dir_name(const std::string& v) { return "versions/" + v; }

}  // namespace

// --- config -----------------------------------------------------------------------------

std::string updater_usage() {
    return R"(usage: hisgate-updater install --config FILE --manifest PATH|URL [--override FILE]
       hisgate-updater resume  --config FILE      finish or undo an install a killed run left
       hisgate-updater serve   --config FILE      resume, then install what the agent spools
       hisgate-updater status  --config FILE      the journal and the last result
       hisgate-updater override --root-key KEY --version V --not-after T [--reason TEXT] --out FILE
       hisgate-updater --help | --version

Installs signed releases of the agent side by side, switches the `current` link, restarts
the agent and rolls back by itself when the new version does not prove healthy
(docs/updater.md). FILE is JSON:
  root_dir            string, required  versions/, current, backups/, the journal
  root_key            string, required  the pinned release root key (public PEM)
  revocations         string            the root's revocation list
  agent_program       string            the agent inside an install tree (bin/hisgate-agent)
  state_files         [string]          the agent's SQLite files, backed up before a switch
  stop_command        [string], required  argv that stops the agent (safe to run twice)
  start_command       [string], required  argv that starts <root_dir>/current/<agent_program>
  command_timeout_ms  int               (60000)
  health.url          string, required  the agent's /metrics
  health.trial_ms     int               good for this long (30000)
  health.timeout_ms   int               give up and roll back after (120000)
  health.poll_ms      int               (500)
  health.min_probe_availability_pct int every probe path's 1h availability at least (100)
  health.require_probes bool            a page without probe figures fails (false)
  controlplane_protocol.min|max  int    the control plane's protocol window (1, 1)
  max_unpack_bytes    int               refuse content larger than this (0 = free space only)
  token_file, ca_file, max_bytes_per_second   for releases named by URL
  keep_versions       int               version directories kept (3; at least 2: current and previous)
  spool_dir           string            serve: where the agent leaves release.install requests
  spool_poll_ms       int               (1000)
)";
}

namespace {
std::vector<std::string> string_list(ConfigReader& c, const std::string& path, bool required) {
    std::vector<std::string> out;
    const nlohmann::json* v = c.section(path);
    if (!v) {
        if (required) c.problem(path, "a list of strings", "nothing");
        return out;
    }
    if (!v->is_array() || v->empty() || v->size() > 64) {
        c.problem(path, "a non-empty list of at most 64 strings", describe_json_type(*v));
        return out;
    }
    for (const auto& e : *v) {
        if (!e.is_string() || e.get_ref<const std::string&>().empty()) {
            c.problem(path, "non-empty strings", describe_json_type(e));
            return {};
        }
        out.push_back(e.get<std::string>());
    }
    return out;
}
}  // namespace

Result<UpdaterConfig> read_updater_config(ConfigReader& c) {
    UpdaterConfig u;
    u.root_dir = c.string("root_dir");
    u.root_key_file = c.string("root_key");
    u.revocations_file = c.string("revocations", "");
    u.agent_program = c.string("agent_program", "bin/hisgate-agent");
    if (auto ok = release::check_entry_path(u.agent_program); !ok) c.problem("agent_program", "a relative path inside the install tree", u.agent_program);
    u.state_files = string_list(c, "state_files", false);
    u.stop_command = string_list(c, "stop_command", true);
    u.start_command = string_list(c, "start_command", true);
    u.command_timeout = std::chrono::milliseconds(c.integer("command_timeout_ms", 60000, 100, 3600000));
    u.health_url = c.string("health.url");
    u.health_trial = std::chrono::milliseconds(c.integer("health.trial_ms", 30000, 0, 86400000));
    u.health_timeout = std::chrono::milliseconds(c.integer("health.timeout_ms", 120000, 100, 86400000));
    u.health_poll = std::chrono::milliseconds(c.integer("health.poll_ms", 500, 10, 60000));
    u.min_probe_availability = static_cast<double>(c.integer("health.min_probe_availability_pct", 100, 0, 100)) / 100.0;
    u.require_probes = c.boolean("health.require_probes", false);
    u.controlplane_protocol_min = static_cast<int>(c.integer("controlplane_protocol.min", 1, 0, 1000000));
    u.controlplane_protocol_max = static_cast<int>(c.integer("controlplane_protocol.max", 1, 0, 1000000));
    u.max_unpack_bytes = static_cast<uint64_t>(c.integer("max_unpack_bytes", 0, 0, int64_t(1) << 40));
    u.token_file = c.string("token_file", "");
    u.ca_file = c.string("ca_file", "");
    u.max_bytes_per_second = c.integer("max_bytes_per_second", 0, 0, int64_t(1) << 40);
    u.keep_versions = static_cast<int>(c.integer("keep_versions", 3, 2, 100));
    u.spool_dir = c.string("spool_dir", "");
    u.spool_poll = std::chrono::milliseconds(c.integer("spool_poll_ms", 1000, 10, 3600000));
    if (u.controlplane_protocol_min > u.controlplane_protocol_max)
        c.problem("controlplane_protocol", "min <= max", "min > max");
    if (auto done = c.finish(); !done) return done.error();
    return u;
}

// --- the downgrade override --------------------------------------------------------------

Result<nlohmann::json> make_downgrade_override(const release::Ed25519Key& root, const ReleaseVersion& version,
                                               release::WallTime not_after, const std::string& reason) {
    nlohmann::json body = {{"type", "hisgate.downgrade-override"},
                           {"version", version.to_string()},
                           {"not_after", release::format_time(not_after)},
                           {"reason", reason}};
    return release::sign_document(body, root);
}

Result<void> check_downgrade_override(const std::string& text, const release::Ed25519Key& root,
                                      const ReleaseVersion& version, release::WallTime now) {
    auto doc = release::parse_document(text, "downgrade override", "updater.override");
    if (!doc) return doc.error();
    if (auto signed_ok = release::check_signed_by(*doc, root, "downgrade override"); !signed_ok) return signed_ok.error();
    const auto& body = (*doc)["signed"];
    auto bad = [](const std::string& m) { return updater_error(ErrorClass::Rejected, "updater.override_invalid", m); };
    if (!body.is_object() || body.value("type", "") != "hisgate.downgrade-override")
        return bad("the override is not a hisgate.downgrade-override");
    if (!body.contains("version") || !body["version"].is_string()) return bad("the override names no version");
    auto v = release::parse_version(body["version"].get<std::string>());
    if (!v) return v.error();
    if (!(v.value() == version))
        return bad("the override allows version " + v->to_string() + ", not " + version.to_string());
    if (!body.contains("not_after") || !body["not_after"].is_string()) return bad("the override has no not_after");
    auto until = release::parse_time(body["not_after"].get<std::string>(), "not_after");
    if (!until) return until.error();
    if (now > until.value()) return bad("the override expired at " + release::format_time(until.value()));
    return {};
}

// --- outcome ------------------------------------------------------------------------------

nlohmann::json InstallOutcome::to_json() const {
    nlohmann::json j = {{"ok", ok}, {"rolled_back", rolled_back}, {"from", from}, {"to", to},
                        {"running", running}, {"package", package}, {"downtime_ms", downtime_ms},
                        {"at", release::format_time(std::chrono::system_clock::now())}};
    if (error) j["error"] = error_json(*error);
    return j;
}

// --- the journal --------------------------------------------------------------------------

// Phases, in order: stopping (the new tree is in versions/, the agent is being stopped
// and its state backed up), switching (the link is being renamed), trial (the new version
// is started and on probation), rolling_back, then committed or rolled_back (the result
// is being written) and idle.
struct Updater::Journal {
    std::string phase = "idle";
    std::string from, to, package, request_id;
    std::optional<Error> reason;  // rolling_back / rolled_back: why
    int64_t downtime_ms = -1;

    nlohmann::json to_json() const {
        nlohmann::json j = {{"phase", phase}, {"from", from}, {"to", to}, {"package", package},
                            {"request_id", request_id}, {"downtime_ms", downtime_ms}};
        if (reason) j["reason"] = error_json(*reason);
        return j;
    }
    static Journal from_json(const nlohmann::json& j) {
        Journal r;
        r.phase = j.value("phase", "idle");
        r.from = j.value("from", "");
        r.to = j.value("to", "");
        r.package = j.value("package", "");
        r.request_id = j.value("request_id", "");
        r.downtime_ms = j.value("downtime_ms", int64_t(-1));
        if (j.contains("reason") && j["reason"].is_object()) r.reason = error_from_json(j["reason"]);
        return r;
    }
};

Updater::Updater(UpdaterConfig config) : config_(std::move(config)) {}

Result<void> Updater::write_journal(const Journal& j) {
    auto ok = write_synced(config_.root_dir + "/" + kJournal, j.to_json().dump(2) + "\n");
    crash_point(("journal:" + j.phase).c_str());
    return ok;
}

Result<void> Updater::write_result(const InstallOutcome& out) {
    auto j = out.to_json();
    if (out.ok)
        log::info("updater.installed", j);
    else
        log::error(out.rolled_back ? "updater.rolled_back" : "updater.refused", j);
    return write_synced(config_.root_dir + "/" + kResult, j.dump(2) + "\n");
}

std::string Updater::current_version() const {
    std::error_code ec;
    auto target = fs::read_symlink(config_.root_dir + "/current", ec);
    if (ec) return "";
    return target.filename().string();
}

Result<void> Updater::switch_to(const std::string& version) {
    std::string link = config_.root_dir + "/current", tmp = link + ".new";
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_directory_symlink(version_dir_name(version), tmp, ec);
    if (ec) return updater_error(ErrorClass::Unavailable, "updater.io", "cannot create " + tmp + ": " + ec.message());
    crash_point("switch:link_made");
    if (::rename(tmp.c_str(), link.c_str()) != 0)
        return updater_error(ErrorClass::Unavailable, "updater.io", "cannot rename " + tmp + ": " + std::strerror(errno));
    crash_point("switch:renamed");
    return release::fsync_dir(config_.root_dir);
}

Result<void> Updater::run_command(const std::vector<std::string>& argv, const char* what) {
    pid_t pid = ::fork();
    if (pid < 0) return updater_error(ErrorClass::Internal, "updater.command", std::string("cannot fork for the ") + what + " command");
    if (pid == 0) {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + config_.command_timeout;
    int status = 0;
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return updater_error(ErrorClass::Internal, "updater.command", "waitpid failed");
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return updater_error(ErrorClass::Timeout, "updater.command_timeout",
                                 std::string("the ") + what + " command did not end within " +
                                     std::to_string(config_.command_timeout.count()) + " ms");
        }
        std::this_thread::sleep_for(10ms);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return updater_error(ErrorClass::Unavailable, "updater.command_failed",
                             std::string("the ") + what + " command failed (" +
                                 (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                    : "signal " + std::to_string(WTERMSIG(status))) + ")");
    return {};
}

Result<void> Updater::restart_agent() {
    if (auto stopped = run_command(config_.stop_command, "stop"); !stopped) return stopped;
    crash_point("restart:stopped");
    return run_command(config_.start_command, "start");
}

// The agent's state files, copied while it is stopped into backups/<from>-to-<to>/ (a
// fresh copy each time: a resumed run copies again; the stopped agent has not changed them).
Result<void> Updater::backup_state(const Journal& j) {
    if (config_.state_files.empty()) return {};
    std::string dir = config_.root_dir + "/backups/" + (j.from.empty() ? "none" : j.from) + "-to-" + j.to;
    std::string tmp = dir + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    if (ec) return updater_error(ErrorClass::Unavailable, "updater.io", "cannot create " + tmp + ": " + ec.message());
    int n = 0;
    for (const auto& file : config_.state_files) {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::string from = file + suffix;
            if (!fs::exists(from, ec)) continue;
            std::string to = tmp + "/" + std::to_string(n) + "-" + fs::path(from).filename().string();
            if (auto ok = release::copy_synced(from, to); !ok)
                return updater_error(ErrorClass::Unavailable, "updater.backup_failed", ok.error().message);
            crash_point("backup:file");
        }
        ++n;
    }
    if (auto ok = release::fsync_dir(tmp); !ok) return ok;
    fs::remove_all(dir, ec);
    fs::rename(tmp, dir, ec);
    if (ec) return updater_error(ErrorClass::Unavailable, "updater.io", "cannot rename " + tmp + ": " + ec.message());
    crash_point("backup:done");
    return release::fsync_dir(config_.root_dir + "/backups");
}

// The last resort of a rollback: the old version cannot run on the live state. The live
// files move into the backup directory as trial-*, the backup's copies take their place.
Result<void> Updater::restore_backup(const Journal& j) {
    std::string dir = config_.root_dir + "/backups/" + (j.from.empty() ? "none" : j.from) + "-to-" + j.to;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return updater_error(ErrorClass::NotFound, "updater.no_backup", "no backup in " + dir);
    int n = 0;
    for (const auto& file : config_.state_files) {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::string live = file + suffix;
            std::string kept = dir + "/trial-" + std::to_string(n) + "-" + fs::path(live).filename().string();
            if (fs::exists(live, ec)) {
                fs::remove(kept, ec);
                fs::rename(live, kept, ec);
                if (ec) return updater_error(ErrorClass::Unavailable, "updater.io", "cannot move " + live + " aside: " + ec.message());
            }
            std::string copy = dir + "/" + std::to_string(n) + "-" + fs::path(live).filename().string();
            if (fs::exists(copy, ec))
                if (auto ok = release::copy_synced(copy, live); !ok) return ok;
        }
        ++n;
    }
    return {};
}

Result<void> Updater::health_gate(const std::string& version, std::chrono::steady_clock::time_point* first_good) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + config_.health_timeout;
    std::optional<std::chrono::steady_clock::time_point> good_since;
    Error last = updater_error(ErrorClass::Timeout, "updater.unhealthy", "the agent never answered on " + config_.health_url);
    const std::regex build_info(R"re(hisgate_build_info\{[^}]*version="([^"]*)"[^}]*\} 1)re");
    const std::regex availability(R"re(hisgate_agent_probe_availability\{([^}]*)\} ([0-9.eE+-]+))re");
    int polls = 0;
    bool ever_good = false;
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (good_since && now - *good_since >= config_.health_trial) return {};
        if (now > deadline) {
            last.message = "not healthy for " + std::to_string(config_.health_trial.count()) + " ms within " +
                           std::to_string(config_.health_timeout.count()) + " ms: " + last.message;
            return last;
        }
        if (++polls == 1) crash_point("health:first_poll");
        auto page = http_get(config_.health_url, {}, kMaxMetricsPage, std::max(config_.health_poll, 1000ms));
        std::optional<Error> bad;
        if (!page) {
            bad = updater_error(ErrorClass::Unavailable, "updater.unhealthy", "the agent's /metrics: " + page.error().message);
        } else {
            std::smatch m;
            if (!std::regex_search(*page, m, build_info)) {
                bad = updater_error(ErrorClass::Protocol, "updater.unhealthy", "the agent's /metrics has no hisgate_build_info");
            } else if (m[1].str() != version) {
                bad = updater_error(ErrorClass::Rejected, "updater.wrong_version",
                                    "the agent reports version " + m[1].str() + ", expected " + version);
            } else {
                int probes = 0;
                for (auto it = std::sregex_iterator(page->begin(), page->end(), availability); it != std::sregex_iterator(); ++it) {
                    if ((*it)[1].str().find("window=\"1h\"") == std::string::npos) continue;
                    ++probes;
                    double share = std::strtod((*it)[2].str().c_str(), nullptr);
                    if (share + 1e-9 < config_.min_probe_availability) {
                        bad = updater_error(ErrorClass::Unavailable, "updater.probes_failing",
                                            "probe {" + (*it)[1].str() + "} availability " + (*it)[2].str() + " below " +
                                                std::to_string(config_.min_probe_availability));
                        break;
                    }
                }
                if (!bad && probes == 0 && config_.require_probes)
                    bad = updater_error(ErrorClass::Unavailable, "updater.probes_failing", "the agent reports no probe results");
            }
        }
        if (bad) {
            last = *bad;
            good_since.reset();
        } else if (!good_since) {
            // The same number of crash points on every run, whatever the poll timing:
            // the first poll, and the first good one.
            if (!ever_good) crash_point("health:trial_started");
            ever_good = true;
            good_since = now;
            if (first_good && *first_good == std::chrono::steady_clock::time_point{}) *first_good = now;
        }
        std::this_thread::sleep_for(config_.health_poll);
    }
}

// --- install ------------------------------------------------------------------------------

Result<InstallOutcome> Updater::install(const InstallRequest& request) {
    // An interrupted install is finished or undone before a new one starts.
    if (auto resumed = resume(); !resumed) return resumed.error();
    return run_install(request);
}

Result<InstallOutcome> Updater::run_install(const InstallRequest& request) {
    std::error_code ec;
    fs::create_directories(config_.root_dir + "/versions", ec);
    fs::create_directories(config_.root_dir + "/backups", ec);
    if (ec) return updater_error(ErrorClass::Config, "updater.io", "cannot create under " + config_.root_dir + ": " + ec.message());
    // Unfinished staging directories of killed runs: never named by `current`.
    for (auto& e : fs::directory_iterator(config_.root_dir + "/versions", ec))
        if (e.path().filename().string().rfind(".staging-", 0) == 0) fs::remove_all(e.path(), ec);

    auto root_pem = release::read_file_bounded(config_.root_key_file, release::kMaxPemBytes);
    if (!root_pem) return root_pem.error();
    auto root = release::Ed25519Key::from_pem(*root_pem);
    if (!root) return root.error();
    std::optional<release::RevocationList> revocations;
    if (!config_.revocations_file.empty()) {
        auto text = release::read_file_bounded(config_.revocations_file, release::kMaxDocumentBytes);
        if (!text) return text.error();
        auto doc = release::parse_document(*text, "revocation list", "release.revocations");
        if (!doc) return doc.error();
        auto list = release::verify_revocation_list(*doc, *root);
        if (!list) return list.error();
        revocations = std::move(list.value());
    }

    InstallOutcome out;
    out.from = current_version();
    out.running = out.from;
    auto refuse = [&](const Error& e) -> Result<InstallOutcome> {
        out.error = e;
        if (auto w = write_result(out); !w) return w.error();
        return out;
    };

    // The highest revocation serial seen is kept: an older list (one that does not yet
    // name a key revoked since) put back in its place is refused, not trusted.
    if (revocations) {
        std::string serial_file = config_.root_dir + "/revocation-serial";
        uint64_t seen = 0;
        if (auto text = release::read_file_bounded(serial_file, 64); text) seen = std::strtoull(text->c_str(), nullptr, 10);
        if (revocations->serial < seen)
            return refuse(updater_error(ErrorClass::Rejected, "updater.revocations_rolled_back",
                                        "the revocation list's serial " + std::to_string(revocations->serial) +
                                            " is older than " + std::to_string(seen) + ", already seen"));
        if (revocations->serial > seen)
            if (auto w = write_synced(serial_file, std::to_string(revocations->serial) + "\n"); !w) return w.error();
    }

    // The manifest, verified against the pinned root before anything else is read from it.
    std::vector<std::string> headers;
    if (!config_.token_file.empty()) {
        auto token = release::read_file_bounded(config_.token_file, 16 * 1024);
        if (!token) return token.error();
        std::string t = *token;
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
        headers.push_back("Authorization: Bearer " + t);
    }
    Result<std::string> text = is_url(request.manifest)
                                   ? http_get(request.manifest, headers, release::kMaxDocumentBytes, 60s, config_.ca_file)
                                   : release::read_file_bounded(strip_file_scheme(request.manifest), release::kMaxDocumentBytes);
    if (!text) return refuse(text.error());
    auto now = std::chrono::system_clock::now();
    auto verified = release::verify_manifest(*text, *root, revocations ? &*revocations : nullptr, now);
    if (!verified) return refuse(verified.error());
    const release::Manifest& m = verified->manifest;
    out.to = m.version.to_string();
    crash_point("verified");

    if (!out.from.empty()) {
        auto running = release::parse_version(out.from);
        if (running && m.version == running.value()) {
            out.ok = true;  // already there: nothing to do, nothing restarted
            if (auto w = write_result(out); !w) return w.error();
            return out;
        }
        if (running && m.version < running.value()) {
            if (request.override_file.empty())
                return refuse(updater_error(ErrorClass::Rejected, "updater.downgrade",
                                            "version " + out.to + " is older than the running " + out.from +
                                                " (an operator's signed override allows it)"));
            auto otext = release::read_file_bounded(request.override_file, release::kMaxDocumentBytes);
            if (!otext) return refuse(otext.error());
            if (auto allowed = check_downgrade_override(*otext, *root, m.version, now); !allowed) return refuse(allowed.error());
            log::warn("updater.downgrade_allowed", {{"from", out.from}, {"to", out.to}});
        }
    }
    if (m.protocol_max < config_.controlplane_protocol_min || m.protocol_min > config_.controlplane_protocol_max)
        return refuse(updater_error(ErrorClass::Rejected, "updater.protocol_excluded",
                                    "release " + out.to + " speaks protocol " + std::to_string(m.protocol_min) + "-" +
                                        std::to_string(m.protocol_max) + ", the control plane " +
                                        std::to_string(config_.controlplane_protocol_min) + "-" +
                                        std::to_string(config_.controlplane_protocol_max)));

    // Room to unpack: the content's size on the root's file system (and the configured cap).
    struct statvfs sv{};
    uint64_t free_bytes = ::statvfs(config_.root_dir.c_str(), &sv) == 0 ? uint64_t(sv.f_bavail) * sv.f_frsize : UINT64_MAX;
    if ((config_.max_unpack_bytes && m.content_size > config_.max_unpack_bytes) || m.content_size > free_bytes)
        return refuse(updater_error(ErrorClass::Unavailable, "updater.disk_full",
                                    "release " + out.to + " unpacks to " + std::to_string(m.content_size) + " bytes; " +
                                        std::to_string(std::min<uint64_t>(free_bytes, config_.max_unpack_bytes ? config_.max_unpack_bytes : free_bytes)) +
                                        " bytes may be used under " + config_.root_dir));

    // The package: the delta from the running version when the installed tree is exactly
    // that version's content, else the full package.
    std::string base_content;
    std::string delta_skipped;  // why the delta from the running version was not used
    const release::PackageEntry* entry = m.full();
    if (!out.from.empty()) {
        auto running = release::parse_version(out.from);
        const release::PackageEntry* delta = running ? m.delta_from(running.value()) : nullptr;
        if (delta) {
            auto tree = release::read_tree(config_.root_dir + "/" + version_dir_name(out.from));
            auto packed = tree ? release::pack(std::move(tree.value())) : Result<std::string>(tree.error());
            if (packed && sha256_hex(*packed) == delta->base_content_sha256) {
                base_content = std::move(packed.value());
                entry = delta;
            } else {
                delta_skipped = packed ? "the delta from " + out.from + " applies to another base (the installed tree's hash differs)"
                                       : "the installed tree of " + out.from + " is unreadable: " + packed.error().describe();
                log::warn("updater.delta_skipped", {{"from", out.from}, {"to", out.to}, {"reason", delta_skipped}});
            }
        }
    }
    if (!entry) return refuse(updater_error(ErrorClass::BadInput, "release.manifest_invalid", "the manifest has no full package"));
    out.package = entry->kind == release::PackageEntry::Kind::Delta ? "delta" : "full";

    // The full package failing after the delta was refused for its base: both say why.
    auto refuse_package = [&](const Error& e) {
        if (delta_skipped.empty()) return refuse(e);
        return refuse(updater_error(ErrorClass::BadInput, "release.delta_base_mismatch", delta_skipped + "; the full package: " + e.describe()));
    };
    std::string package_bytes;
    if (is_url(request.manifest)) {
        std::string base = request.manifest;
        if (auto cut = base.rfind("/manifest"); cut != std::string::npos) base.resize(cut);
        release::DownloadOptions d;
        d.url = base + "/packages/" + entry->path;
        fs::create_directories(config_.root_dir + "/downloads", ec);
        d.dest = config_.root_dir + "/downloads/" + fs::path(entry->path).filename().string();
        d.max_bytes_per_second = config_.max_bytes_per_second;
        d.ca_file = config_.ca_file;
        if (!headers.empty()) d.headers["Authorization"] = headers[0].substr(std::strlen("Authorization: "));
        auto got = release::download_package(*entry, d);
        if (!got) return refuse_package(got.error());
        // What an interrupted transfer cost: the bytes kept from an earlier run are not sent again.
        log::info("updater.package_downloaded", {{"package", entry->path},
                                                 {"resumed_from", static_cast<int64_t>(got->resumed_from)},
                                                 {"transferred", static_cast<int64_t>(got->transferred)}});
        auto bytes = release::read_file_bounded(d.dest, release::kMaxPackageBytes);
        if (!bytes) return refuse_package(bytes.error());
        package_bytes = std::move(bytes.value());
        fs::remove(d.dest, ec);
    } else {
        auto bytes = release::read_package(fs::path(strip_file_scheme(request.manifest)).parent_path().string(), *entry);
        if (!bytes) return refuse_package(bytes.error());
        package_bytes = std::move(bytes.value());
    }
    if (auto checked = release::check_package_bytes(*entry, package_bytes); !checked) return refuse_package(checked.error());
    crash_point("package_checked");
    auto content = entry->kind == release::PackageEntry::Kind::Delta
                       ? release::content_from_delta(m, *entry, package_bytes, base_content)
                       : release::content_from_full(m, package_bytes);
    if (!content) return refuse(content.error());
    package_bytes.clear();
    auto entries = release::unpack(*content);
    if (!entries) return refuse(entries.error());
    content.value().clear();
    bool has_program = false;
    for (const auto& e : *entries) has_program |= e.path == config_.agent_program && e.executable;
    if (!has_program)
        return refuse(updater_error(ErrorClass::BadInput, "updater.no_agent_program",
                                    "release " + out.to + " has no executable " + config_.agent_program));

    // Side by side: a staging directory, made complete and durable, then renamed into place.
    std::string final_dir = config_.root_dir + "/" + version_dir_name(out.to);
    if (fs::exists(final_dir, ec)) {
        // Left by an earlier install of this version (e.g. rolled back): replaced.
        fs::remove_all(final_dir, ec);
    }
    std::string staging = config_.root_dir + "/versions/.staging-" + out.to + "-" + std::to_string(::getpid());
    if (auto written = release::write_tree(*entries, staging); !written) {
        fs::remove_all(staging, ec);
        Error e = written.error();
        if (e.message.find("No space") != std::string::npos || e.code == "release.io")
            e = updater_error(ErrorClass::Unavailable, "updater.disk_full", "cannot unpack release " + out.to + ": " + e.message);
        return refuse(e);
    }
    crash_point("unpacked");
    sync_tree(staging);
    fs::rename(staging, final_dir, ec);
    if (ec) return refuse(updater_error(ErrorClass::Unavailable, "updater.io", "cannot rename " + staging + ": " + ec.message()));
    if (auto ok = release::fsync_dir(config_.root_dir + "/versions"); !ok) return refuse(ok.error());
    crash_point("installed_side_by_side");

    Journal j;
    j.phase = "stopping";
    j.from = out.from;
    j.to = out.to;
    j.package = out.package;
    j.request_id = request.request_id;
    if (auto w = write_journal(j); !w) return w.error();
    return finish_switch(std::move(j));
}

// From "stopping" on: stop the agent, back up its state, switch, start, the gate.
// Each step may be taken again by a resumed run.
InstallOutcome Updater::finish_switch(Journal j) {
    auto started = std::chrono::steady_clock::now();
    if (j.phase == "stopping") {
        if (auto stopped = run_command(config_.stop_command, "stop"); !stopped) return roll_back(std::move(j), stopped.error());
        crash_point("stopped");
        if (auto backed = backup_state(j); !backed) return roll_back(std::move(j), backed.error());
        j.phase = "switching";
        if (auto w = write_journal(j); !w) return roll_back(std::move(j), w.error());
    }
    if (j.phase == "switching") {
        if (auto switched = switch_to(j.to); !switched) return roll_back(std::move(j), switched.error());
        j.phase = "trial";
        if (auto w = write_journal(j); !w) return roll_back(std::move(j), w.error());
        if (auto s = run_command(config_.start_command, "start"); !s) return roll_back(std::move(j), s.error());
        crash_point("started");
    } else {
        // A resumed trial: the new agent may or may not be running; the start command is
        // safe to run again.
        if (auto s = run_command(config_.start_command, "start"); !s) return roll_back(std::move(j), s.error());
    }
    std::chrono::steady_clock::time_point first_good{};
    if (auto healthy = health_gate(j.to, &first_good); !healthy) return roll_back(std::move(j), healthy.error());
    if (first_good != std::chrono::steady_clock::time_point{})
        j.downtime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(first_good - started).count();
    InstallOutcome out;
    out.ok = true;
    out.from = j.from;
    out.to = j.to;
    out.running = j.to;
    out.package = j.package;
    out.downtime_ms = j.downtime_ms;
    j.phase = "committed";
    (void)write_journal(j);
    return complete(std::move(j), std::move(out));
}

InstallOutcome Updater::complete(Journal j, InstallOutcome out) {
    (void)write_result(out);
    crash_point("result_written");
    Journal idle;
    idle.from = j.to;
    (void)write_journal(idle);
    prune_versions(out.running == j.to ? j.from : j.to);
    return out;
}

void Updater::prune_versions(const std::string& keep) {
    std::string current = current_version();
    std::vector<std::pair<ReleaseVersion, fs::path>> others;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(config_.root_dir + "/versions", ec)) {
        std::string name = e.path().filename().string();
        auto v = release::parse_version(name);
        if (!v || name == current || name == keep) continue;
        others.emplace_back(std::move(v.value()), e.path());
    }
    int room = config_.keep_versions - (current.empty() ? 0 : 1) - (keep.empty() || keep == current ? 0 : 1);
    std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return b.first < a.first; });
    for (size_t i = static_cast<size_t>(std::max(room, 0)); i < others.size(); ++i) {
        fs::remove_all(others[i].second, ec);
        log::info("updater.version_removed", {{"version", others[i].first.to_string()}});
    }
}

InstallOutcome Updater::roll_back(Journal j, const Error& why) {
    if (!j.reason) j.reason = why;
    log::warn("updater.rolling_back", {{"from", j.from}, {"to", j.to}, {"reason", error_json(*j.reason)}});
    InstallOutcome out;
    out.from = j.from;
    out.to = j.to;
    out.package = j.package;
    out.rolled_back = true;
    out.error = *j.reason;
    if (j.from.empty()) {
        // A first install has nothing to go back to: the agent is left stopped.
        (void)run_command(config_.stop_command, "stop");
        out.running = current_version();
        j.phase = "rolled_back";
        (void)write_journal(j);
        return complete(std::move(j), std::move(out));
    }
    if (j.phase != "rolling_back") {
        j.phase = "rolling_back";
        (void)write_journal(j);
    }
    // The old tree is still there (only another install's run replaces a version
    // directory, and never the current one): back to it, then restart the agent on it.
    auto switched = switch_to(j.from);
    auto restarted = switched ? restart_agent() : Result<void>(switched.error());
    crash_point("rollback:restarted");
    auto healthy = restarted ? health_gate(j.from, nullptr) : Result<void>(restarted.error());
    if (!healthy) {
        // The old version cannot run on the live state (a schema the new version moved
        // forward): the backup goes back, the live files are kept beside it.
        log::error("updater.rollback_unhealthy", {{"from", j.from}, {"error", error_json(healthy.error())}});
        if (auto stopped = run_command(config_.stop_command, "stop"); stopped)
            if (auto restored = restore_backup(j); restored) {
                (void)run_command(config_.start_command, "start");
                healthy = health_gate(j.from, nullptr);
                if (healthy) log::warn("updater.state_restored", {{"from", j.from}, {"to", j.to}});
            }
    }
    out.running = current_version();
    if (!healthy)
        out.error->message += " (and the rolled-back version " + j.from + " is not healthy either: " + healthy.error().message + ")";
    j.phase = "rolled_back";
    (void)write_journal(j);
    return complete(std::move(j), std::move(out));
}

Result<std::optional<InstallOutcome>> Updater::resume() {
    std::string path = config_.root_dir + "/" + kJournal;
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<InstallOutcome>();
    auto text = release::read_file_bounded(path, 1 << 20);
    if (!text) return text.error();
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return updater_error(ErrorClass::Internal, "updater.journal_invalid", path + " is not a journal");
    Journal j = Journal::from_json(doc);
    if (j.phase == "idle") return std::optional<InstallOutcome>();
    log::warn("updater.resuming", j.to_json());
    if (j.phase == "stopping" || j.phase == "switching" || j.phase == "trial") return std::optional<InstallOutcome>(finish_switch(std::move(j)));
    if (j.phase == "rolling_back") return std::optional<InstallOutcome>(roll_back(std::move(j), *j.reason));
    InstallOutcome out;  // committed or rolled_back: only the result and the idle journal are missing
    out.ok = j.phase == "committed";
    out.rolled_back = j.phase == "rolled_back";
    out.from = j.from;
    out.to = j.to;
    out.package = j.package;
    out.running = current_version();
    out.downtime_ms = j.downtime_ms;
    if (j.reason) out.error = j.reason;
    return std::optional<InstallOutcome>(complete(std::move(j), std::move(out)));
}

void Updater::serve(const std::atomic<bool>& stop) {
    if (auto r = resume(); !r) log::error("updater.resume_failed", error_json(r.error()));
    std::error_code ec;
    while (!stop) {
        std::vector<fs::path> requests;
        for (auto& e : fs::directory_iterator(config_.spool_dir, ec)) {
            auto name = e.path().filename().string();
            if (name.empty() || name[0] == '.' || e.path().extension() != ".json") continue;
            requests.push_back(e.path());
        }
        std::sort(requests.begin(), requests.end(), [](const fs::path& a, const fs::path& b) {
            std::error_code e1, e2;
            return fs::last_write_time(a, e1) < fs::last_write_time(b, e2);
        });
        for (const auto& r : requests) {
            if (stop) break;
            auto text = release::read_file_bounded(r.string(), 64 * 1024);
            auto doc = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
            InstallRequest req;
            if (doc.is_object() && doc.contains("manifest_url") && doc["manifest_url"].is_string()) {
                req.manifest = doc["manifest_url"].get<std::string>();
                req.request_id = doc.value("request_id", "");
                auto outcome = install(req);
                if (!outcome) log::error("updater.install_failed", error_json(outcome.error()));
            } else {
                log::error("updater.bad_request", {{"file", r.filename().string()}});
            }
            // Done with it either way: the result file says how it went.
            fs::remove(r, ec);
            (void)release::fsync_dir(config_.spool_dir);
        }
        std::this_thread::sleep_for(config_.spool_poll);
    }
}

}  // namespace hisgate::updater
