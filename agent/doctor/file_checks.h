// Checks of the agent's files: secrets readable by this user only, the state database's
// folder writable, and room left on its filesystem.
#pragma once

#include <cstdint>
#include <string>

#include "agent/doctor/finding.h"

namespace hisgate::agent::doctor {

// `key` is the setting that names the file (e.g. "broker.password_file"). FAIL if the
// file is missing, unreadable by this user, or open to group or others (with the chmod
// command that fixes it).
Finding secret_file(const std::string& key, const std::string& path);

// The state database's folder exists and this user can create files in it (tried for
// real); the database, if present, is readable and writable. It holds patients' queued
// requests, so being open to others is a warning.
Finding state_db_access(const std::string& state_db);

// Free space for this user on the state database's filesystem: FAIL below
// `fail_below_bytes`, WARN below `warn_below_bytes`.
constexpr uint64_t kDiskFailBelow = 100ull << 20;  // 100 MiB: the outbox cannot buffer an outage
constexpr uint64_t kDiskWarnBelow = 1ull << 30;    // 1 GiB
Finding disk_space(const std::string& state_db, uint64_t fail_below_bytes = kDiskFailBelow,
                   uint64_t warn_below_bytes = kDiskWarnBelow);

// The folder holding `path` ("." for a bare file name).
std::string folder_of(const std::string& path);

}  // namespace hisgate::agent::doctor
