#include "mllp/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace hisgate::mllp {

namespace {

Error io_error(std::string_view what, const std::string& path) {
    return make_error(ErrorClass::Unavailable, "mllp.store_failed",
                      std::string(what) + " " + path + ": " + std::strerror(errno));
}

// Closes a file descriptor on every path out of a scope.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Result<void> write_all(int fd, std::string_view bytes, const std::string& path) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return io_error("cannot write", path);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> fsync_dir(const std::string& dir) {
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) return io_error("cannot open directory", dir);
    if (::fsync(d.fd) != 0) return io_error("cannot fsync directory", dir);
    return {};
}

bool same_content(const std::string& path, std::string_view message) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return existing == message;
}

// File names keep letters, digits, '.', '-' and '_' only, and stay far below NAME_MAX.
std::string safe_stem(std::string_view key) {
    constexpr std::size_t kMaxStem = 160;
    std::string stem;
    for (char c : key.substr(0, kMaxStem)) {
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        stem.push_back(keep ? c : '_');
    }
    return stem;
}

}  // namespace

MessageStore::MessageStore(std::string dir) : dir_(std::move(dir)) {}

Result<void> MessageStore::open() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
        return make_error(ErrorClass::Config, "mllp.store_dir",
                          "cannot create store directory " + dir_ + ": " + ec.message());
    if (::access(dir_.c_str(), W_OK) != 0)
        return make_error(ErrorClass::Config, "mllp.store_dir", "store directory " + dir_ + " is not writable");
    return {};
}

std::string MessageStore::unique_name(std::string_view stem) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
    return std::string(stem) + "~" + std::to_string(ns) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(sequence_.fetch_add(1));
}

Result<StoredMessage> MessageStore::persist(std::string_view message, std::string_view key) {
    const std::string tmp = dir_ + "/." + unique_name("incoming") + ".tmp";
    {
        Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)};
        if (f.fd < 0) return io_error("cannot create", tmp);
        if (auto w = write_all(f.fd, message, tmp); !w) {
            ::unlink(tmp.c_str());
            return w.error();
        }
        if (::fsync(f.fd) != 0) {
            ::unlink(tmp.c_str());
            return io_error("cannot fsync", tmp);
        }
    }

    // link() refuses to replace an existing name, which is what tells a retry apart.
    const std::string stem = key.empty() ? unique_name("unidentified") : safe_stem(key);
    std::string path = dir_ + "/" + stem + ".hl7";
    StoredMessage stored{path, false};
    if (::link(tmp.c_str(), path.c_str()) != 0) {
        if (errno != EEXIST) {
            ::unlink(tmp.c_str());
            return io_error("cannot link", path);
        }
        if (same_content(path, message)) {
            stored.duplicate = true;
        } else {
            stored.path = dir_ + "/" + unique_name(stem) + ".hl7";
            if (::link(tmp.c_str(), stored.path.c_str()) != 0) {
                ::unlink(tmp.c_str());
                return io_error("cannot link", stored.path);
            }
        }
    }
    ::unlink(tmp.c_str());
    if (auto d = fsync_dir(dir_); !d) return d.error();
    return stored;
}

}  // namespace hisgate::mllp
