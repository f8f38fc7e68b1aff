#include "agent/doctor/file_checks.h"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hisgate::agent::doctor {

namespace {

std::string shell_quoted(const std::string& s) {
    if (s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == std::string::npos) return s;
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string this_user() {
    const passwd* pw = getpwuid(geteuid());
    return pw ? pw->pw_name : std::to_string(geteuid());
}

std::string mode_text(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::string mebibytes(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

std::string folder_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

Finding secret_file(const std::string& key, const std::string& path) {
    std::string check = "permissions." + key;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return fail(check, path + ": " + std::strerror(errno), "create the file, or correct " + key);
    if (!S_ISREG(st.st_mode)) return fail(check, path + " is not a regular file", "point " + key + " at the file itself");
    if (::access(path.c_str(), R_OK) != 0)
        return fail(check, path + " is not readable by " + this_user() + " (the agent's user)",
                    "chown " + this_user() + " " + shell_quoted(path) + " && chmod 600 " + shell_quoted(path));
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return fail(check, path + " has mode " + mode_text(st.st_mode) + ": group or others can open it, and it holds secrets",
                    "chmod 600 " + shell_quoted(path));
    return ok(check, path + " mode " + mode_text(st.st_mode) + ", readable by " + this_user() + " only");
}

Finding state_db_access(const std::string& state_db) {
    const std::string check = "permissions.state_db";
    std::string folder = folder_of(state_db);
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(check, "folder " + folder + " of state_db does not exist", "mkdir -p " + shell_quoted(folder) + " && chown " +
                                                                                   this_user() + " " + shell_quoted(folder));
    // access() can be wrong on some mounts (read-only, ACLs): create a file for real.
    std::string probe = folder + "/.hisgate-doctor-XXXXXX";
    int fd = ::mkstemp(probe.data());
    if (fd < 0)
        return fail(check, "cannot create files in " + folder + " as " + this_user() + ": " + std::strerror(errno),
                    "chown " + this_user() + " " + shell_quoted(folder) + " (and check the filesystem is not read-only)");
    ::close(fd);
    ::unlink(probe.c_str());
    if (::stat(state_db.c_str(), &st) != 0) return ok(check, folder + " is writable; " + state_db + " will be created");
    if (::access(state_db.c_str(), R_OK | W_OK) != 0)
        return fail(check, state_db + " is not readable and writable by " + this_user(),
                    "chown " + this_user() + " " + shell_quoted(state_db) + " && chmod 600 " + shell_quoted(state_db));
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return warn(check, state_db + " has mode " + mode_text(st.st_mode) + ": it holds patients' queued requests",
                    "chmod 600 " + shell_quoted(state_db));
    return ok(check, state_db + " is readable and writable by " + this_user() + " only");
}

Finding disk_space(const std::string& state_db, uint64_t fail_below_bytes, uint64_t warn_below_bytes) {
    const std::string check = "disk.state_db";
    std::string folder = folder_of(state_db);
    struct statvfs fs {};
    if (::statvfs(folder.c_str(), &fs) != 0)
        return fail(check, "cannot read the free space of " + folder + ": " + std::strerror(errno),
                    "create the folder of state_db (see permissions.state_db)");
    uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    std::string detail = mebibytes(free_bytes) + " free for " + this_user() + " on the filesystem of " + folder;
    std::string fix = "free space on that filesystem, or move state_db to a larger one";
    if (free_bytes < fail_below_bytes) return fail(check, detail + " (needs at least " + mebibytes(fail_below_bytes) + ")", fix);
    if (free_bytes < warn_below_bytes) return warn(check, detail + " (less than " + mebibytes(warn_below_bytes) + ")", fix);
    return ok(check, detail);
}

}  // namespace hisgate::agent::doctor
