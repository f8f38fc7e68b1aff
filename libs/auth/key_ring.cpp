#include "auth/key_ring.h"

#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/random_id.h"
#include "common/utc_time.h"

namespace hisgate::auth {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMinHexDigits = 64, kMaxHexDigits = 256;

Error keys_error(const std::string& message) { return make_error(ErrorClass::Config, "auth.keys", message); }

bool valid_kid(const std::string& kid) {
    if (kid.empty() || kid.size() > 64) return false;
    for (char c : kid)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    return true;
}

Result<std::string> read_secret(const fs::path& file) {
    std::error_code ec;
    if (auto size = fs::file_size(file, ec); ec || size > kMaxHexDigits + 2)  // the hex line and its newline
        return keys_error(file.string() + ": expected one line of 64 to 256 hex digits (32 to 128 random bytes)");
    std::ifstream in(file);
    std::string hex;
    if (!in || !std::getline(in, hex))
        return keys_error(file.string() + ": cannot be read");
    while (!hex.empty() && (hex.back() == '\r' || hex.back() == ' ')) hex.pop_back();
    if (hex.size() < kMinHexDigits || hex.size() > kMaxHexDigits || hex.size() % 2 != 0 ||
        hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return keys_error(file.string() + ": expected one line of 64 to 256 hex digits (32 to 128 random bytes)");
    std::string secret;
    for (size_t i = 0; i < hex.size(); i += 2) secret.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return secret;
}

Result<std::map<std::string, std::string>> read_keys(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return keys_error(dir + ": not a directory of signing keys");
    std::map<std::string, std::string> keys;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() != ".key") continue;
        std::string kid = it->path().stem().string();
        if (!valid_kid(kid))
            return keys_error(it->path().string() + ": a key's name is 1 to 64 characters of A-Z a-z 0-9 _ -, then .key");
        auto secret = read_secret(it->path());
        if (!secret) return secret.error();
        keys[kid] = std::move(secret.value());
    }
    if (ec) return keys_error(dir + ": " + ec.message());
    if (keys.empty()) return keys_error(dir + ": holds no <kid>.key file (create one with `hisgate token new-key`)");
    return keys;
}

}  // namespace

Result<std::unique_ptr<KeyRing>> KeyRing::open(const std::string& dir, Clock& clock) {
    std::unique_ptr<KeyRing> ring(new KeyRing(dir, clock));
    std::error_code ec;
    ring->loaded_mtime_ = fs::last_write_time(dir, ec);
    auto keys = read_keys(dir);
    if (!keys) return keys.error();
    ring->keys_ = std::move(keys.value());
    ring->checked_at_ = clock.steady_now();
    return ring;
}

void KeyRing::refresh_locked() {
    auto now = clock_.steady_now();
    if (checked_at_ && now - *checked_at_ < std::chrono::seconds(1)) return;
    checked_at_ = now;
    std::error_code ec;
    auto mtime = fs::last_write_time(dir_, ec);
    if (ec || mtime == loaded_mtime_) return;
    auto keys = read_keys(dir_);
    if (!keys) {
        log::error("auth.keys_not_reloaded", {{"error", keys.error().describe()}});
        loaded_mtime_ = mtime;  // said once; the next change of the directory is read again
        return;
    }
    loaded_mtime_ = mtime;
    keys_ = std::move(keys.value());
    log::info("auth.keys_reloaded", {{"keys", keys_.size()}, {"signing_kid", keys_.rbegin()->first}});
}

SigningKey KeyRing::signing_key() {
    std::lock_guard lock(mu_);
    refresh_locked();
    HISGATE_CHECK(!keys_.empty(), "auth.keys", "a key ring without keys");
    return {keys_.rbegin()->first, keys_.rbegin()->second};
}

std::optional<std::string> KeyRing::secret_of(const std::string& kid) {
    std::lock_guard lock(mu_);
    refresh_locked();
    auto it = keys_.find(kid);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
}

Result<std::string> KeyRing::create_key(const std::string& dir, std::chrono::system_clock::time_point now) {
    std::string kid = utc_strftime(now, "%Y%m%dT%H%M%SZ");
    fs::path file = fs::path(dir) / (kid + ".key");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {  // a new ring: a directory only its owner can enter
        fs::create_directories(dir, ec);
        if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
        if (ec) return make_error(ErrorClass::Internal, "auth.keys", dir + ": cannot be created: " + ec.message());
    }
    if (fs::exists(file, ec)) return make_error(ErrorClass::Internal, "auth.keys", file.string() + " exists already");
    fs::path temp = fs::path(dir) / ("." + kid + ".key.tmp");
    {
        // Created 0600 before the secret is written; renamed into place whole.
        mode_t old = ::umask(077);
        std::ofstream out(temp);
        ::umask(old);
        out << random_hex(32) << "\n";  // 32 bytes from the kernel's CSPRNG
        out.flush();
        if (!out) return make_error(ErrorClass::Internal, "auth.keys", temp.string() + ": cannot be written");
    }
    fs::rename(temp, file, ec);
    if (ec) return make_error(ErrorClass::Internal, "auth.keys", file.string() + ": " + ec.message());
    return kid;
}

}  // namespace hisgate::auth
