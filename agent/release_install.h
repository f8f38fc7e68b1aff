// release.install: the control plane asks this agent to upgrade to a release
// (docs/updater.md). The agent does not install anything itself: it checks the payload
// and hands it to hisgate-updater, the program beside it, through the updater's spool
// directory, then answers at once.
//
//   payload  {"version": "1.4.0", "manifest_url": "https://cp.example/api/v1/releases/1.4.0/manifest"}
//   answer   {"accepted": true, "version": "1.4.0"}
//   errors   BadInput request.invalid            a field missing, of the wrong type or too long
//            BadInput release.bad_version        not a version (release/release_version.h)
//            Rejected release.install_unavailable  the agent has no updater.spool_dir
//            Unavailable release.spool_io        the request could not be written
//
// The request is the file <spool>/<request id>.json, written to a hidden temporary,
// fsynced and renamed, so the updater never reads half of one. Its name is the request
// id: a redelivered request rewrites the same file instead of queueing a second install.
// "accepted" means handed over; whether the version runs the control plane learns from
// the agent's next birth (its version), which the updater's health gate waits for too.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/error.h"

namespace hisgate::agent {

inline constexpr std::size_t kMaxManifestUrlBytes = 2048;

struct InstallRequest {
    std::string version;       // as parse_version prints it
    std::string manifest_url;  // http(s)://, file:// or an absolute path
};

// The payload checked: bounded, a parseable version, a URL of an accepted scheme without
// whitespace or control characters.
Result<InstallRequest> read_install_request(const nlohmann::json& body);

// Checks `body` and leaves it in `spool_dir` for the updater; the answer's body.
Result<nlohmann::json> hand_to_updater(const std::string& spool_dir, std::string_view request_id,
                                       const nlohmann::json& body, const Clock& clock);

}  // namespace hisgate::agent
