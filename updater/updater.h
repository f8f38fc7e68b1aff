// hisgate-updater: installs a signed release beside the running agent, switches to it
// atomically, restarts the agent, and keeps the new version only once it has proved
// healthy; otherwise it goes back by itself and says why (docs/updater.md).
//
// On disk, under the root directory:
//   versions/<version>/      one install tree per version, as its package unpacks
//                            (versions/.staging-* while unpacking: never used, swept)
//   current -> versions/<v>  the symbolic link the agent is started through, replaced
//                            atomically: current.new is made, then renamed over current
//   backups/<from>-to-<to>/  the agent's state files, copied while the agent was stopped
//   updater-state.json       the journal: what the updater is doing (phase, from, to)
//   updater-result.json      how the last install ended (ok, class, code, message)
//
// Invariants:
//  - `current` always names a complete install tree: a version directory appears by one
//    rename of a finished staging directory, and the link changes by one rename.
//  - Every step after the unpack is journaled before it is taken, and each is safe to
//    take again, so a run killed at any point (kill -9) is finished or undone by the next
//    (`hisgate-updater resume`, or `serve`, which resumes first).
//  - A rollback never copies the backup over the agent's live state file: tasks the new
//    version accepted during its trial stay in it and the old version serves them. The
//    backup is restored only when the old version cannot run on the live file, and then
//    the live file is kept beside the backup (docs/updater.md, "State").
//  - Nothing is installed from a package before the manifest's signature (the pinned
//    root), the anti-downgrade rule, the protocol window and the package's size and
//    SHA-256 are checked; a refusal leaves the running agent untouched.
#pragma once

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "release/manifest.h"

namespace hisgate::updater {

struct UpdaterConfig {
    std::string root_dir;
    std::string root_key_file;     // the pinned root's public key (PEM)
    std::string revocations_file;  // the root's revocation list; "" = none
    // The agent's program inside an install tree: checked to exist and be executable
    // before a version can become current.
    std::string agent_program = "bin/hisgate-agent";
    // The agent's SQLite state file(s); "-wal" and "-shm" beside each are copied too.
    std::vector<std::string> state_files;
    // How the agent is stopped and started (argv; with systemd: systemctl stop|start
    // hisgate-agent). Both must be safe to run twice: a resumed run repeats them. The
    // start command starts <root>/current/<agent_program>.
    std::vector<std::string> stop_command;
    std::vector<std::string> start_command;
    std::chrono::milliseconds command_timeout{60000};
    // The health gate, on the agent's own /metrics page.
    std::string health_url;                        // e.g. http://127.0.0.1:9740/metrics
    std::chrono::milliseconds health_trial{30000};  // good for this long without a break
    std::chrono::milliseconds health_timeout{120000};
    std::chrono::milliseconds health_poll{500};
    double min_probe_availability = 1.0;  // every probe path's 1h availability at least this
    bool require_probes = false;          // a page without probe figures fails the gate
    // The control plane's protocol window: a release that speaks none of it is refused.
    int controlplane_protocol_min = 1;
    int controlplane_protocol_max = 1;
    // Unpacking needs the content's size free on the root's file system, and at most this
    // many bytes (0 = no limit of its own): updater.disk_full otherwise.
    uint64_t max_unpack_bytes = 0;
    // Releases named by URL: a bearer token file, a bandwidth cap, a CA file.
    std::string token_file;
    int64_t max_bytes_per_second = 0;
    std::string ca_file;
    // Version directories kept after an install ends: the current one, the one it came
    // from (or went to), and the newest others up to this many in all (at least 2).
    int keep_versions = 3;
    // `serve`: where the agent leaves release.install requests, and how often to look.
    std::string spool_dir;
    std::chrono::milliseconds spool_poll{1000};
};

Result<UpdaterConfig> read_updater_config(ConfigReader& c);
std::string updater_usage();

struct InstallRequest {
    std::string manifest;       // a file path, file:// or http(s):// URL
    std::string override_file;  // an operator's signed downgrade override; "" = none
    std::string request_id;     // the control plane's task id, when it came from the agent
};

// How an install ended; also written to updater-result.json.
struct InstallOutcome {
    bool ok = false;
    bool rolled_back = false;
    std::string from;     // the version running before ("" = none)
    std::string to;       // the version asked for
    std::string running;  // the version `current` names at the end
    std::string package;  // "full", "delta" or "" (nothing installed)
    std::optional<Error> error;  // why not, when !ok
    int64_t downtime_ms = -1;    // agent stopped -> new agent healthy on /metrics (the first good poll)
    nlohmann::json to_json() const;
};

class Updater {
public:
    explicit Updater(UpdaterConfig config);

    // Installs the release the request names (see the header comment). An error only for
    // what prevents even trying (the config's files); every refusal or rollback is an
    // outcome with ok=false.
    Result<InstallOutcome> install(const InstallRequest& request);
    // Finishes or undoes an install a killed run left (the journal's phase); nullopt when
    // there was none.
    Result<std::optional<InstallOutcome>> resume();
    // resume(), then installs the spool's requests one at a time, oldest first, until
    // `stop` becomes true.
    void serve(const std::atomic<bool>& stop);

    // The version `current` names, "" when there is none.
    std::string current_version() const;

private:
    struct Journal;
    Result<InstallOutcome> run_install(const InstallRequest& request);
    InstallOutcome finish_switch(Journal j);
    InstallOutcome roll_back(Journal j, const Error& why);
    InstallOutcome complete(Journal j, InstallOutcome out);
    Result<void> write_journal(const Journal& j);
    Result<void> switch_to(const std::string& version);
    Result<void> backup_state(const Journal& j);
    Result<void> restore_backup(const Journal& j);
    Result<void> run_command(const std::vector<std::string>& argv, const char* what);
    Result<void> restart_agent();
    // Waits until the agent reports `version` and its probes pass for health_trial;
    // the time of the first good poll in `first_good`.
    Result<void> health_gate(const std::string& version, std::chrono::steady_clock::time_point* first_good);
    Result<void> write_result(const InstallOutcome& out);
    // Removes version directories beyond keep_versions, never `current` nor `keep`.
    void prune_versions(const std::string& keep);

    UpdaterConfig config_;
};

// An operator's signed permission to install an older version than the running one:
//   {"signed": {"type": "hisgate.downgrade-override", "version": "1.0.0",
//               "not_after": "2026-12-31T00:00:00Z", "reason": "..."},
//    "signature": {...}}   signed by the pinned root key.
// The override names exactly one version and expires.
Result<void> check_downgrade_override(const std::string& text, const release::Ed25519Key& root,
                                      const release::ReleaseVersion& version, release::WallTime now);
Result<nlohmann::json> make_downgrade_override(const release::Ed25519Key& root, const release::ReleaseVersion& version,
                                               release::WallTime not_after, const std::string& reason);

// Test hook: HISGATE_UPDATER_DIE_AT=N kills the updater (SIGKILL) at its N-th crash point
// (1-based; each step of an install passes one or more). crash_points_passed() counts
// them for a run that did not die.
void crash_point(const char* name);
int crash_points_passed();

}  // namespace hisgate::updater
