// Bearer tokens on real key files: what verifies, what does not, and a key rotation with
// tokens of both keys in use. Time is a ManualClock (the ring's reload check, expiry).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <thread>

#include "auth/access_token.h"
#include "common/clock.h"
#include "tests/support/process.h"

using namespace hisgate;
using namespace hisgate::auth;
using namespace std::chrono_literals;

namespace {
std::chrono::sys_seconds at(const ManualClock& clock) { return std::chrono::floor<std::chrono::seconds>(clock.wall_now()); }

std::string base64url(const std::string& in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    int val = 0, bits = -6;
    for (unsigned char c : in) {
        val = (val << 8) + c;
        bits += 8;
        while (bits >= 0) {
            out.push_back(abc[(val >> bits) & 0x3F]);
            bits -= 6;
        }
    }
    if (bits > -6) out.push_back(abc[((val << 8) >> (bits + 8)) & 0x3F]);
    return out;
}

struct Ring {
    ManualClock clock;
    std::string dir = test::make_temp_dir("keys");
    std::unique_ptr<KeyRing> ring;
    std::string first_kid;
    Ring() {
        auto kid = KeyRing::create_key(dir, clock.wall_now());
        REQUIRE(kid);
        first_kid = *kid;
        auto opened = KeyRing::open(dir, clock);
        REQUIRE(opened);
        ring = std::move(opened.value());
    }
    std::string issue(Role role, const std::string& subject, std::chrono::seconds ttl = 1h) {
        auto jwt = issue_token(*ring, {role, subject, at(clock) + ttl}, at(clock));
        REQUIRE(jwt);
        return *jwt;
    }
};
}  // namespace

TEST_CASE("access token: a token issued with the ring verifies with its role and subject, until it expires") {
    Ring r;
    auto jwt = r.issue(Role::Patient, "P-DEMO-1", 10min);
    auto token = verify_token(*r.ring, jwt, at(r.clock));
    REQUIRE(token);
    CHECK(token->role == Role::Patient);
    CHECK(token->subject == "P-DEMO-1");
    r.clock.advance(10min);
    auto late = verify_token(*r.ring, jwt, at(r.clock));
    REQUIRE_FALSE(late);
    CHECK(late.error().code == "auth.invalid_token");
    CHECK_THAT(late.error().message, Catch::Contains("expired"));
}

TEST_CASE("access token: forged, altered, unsigned, foreign and oversized tokens are refused with the reason") {
    Ring r;
    auto jwt = r.issue(Role::Patient, "P-1");
    auto dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
    std::string header = jwt.substr(0, dot1), signature = jwt.substr(dot2 + 1);
    auto now = at(r.clock);

    // The payload rewritten to another patient (and an admin), the signature kept.
    std::string payload = base64url(R"({"iss":"hisgate","sub":"P-2","role":"admin","exp":)" +
                                    std::to_string(now.time_since_epoch().count() + 3600) + "}");
    auto altered = verify_token(*r.ring, header + "." + payload + "." + signature, now);
    REQUIRE_FALSE(altered);
    CHECK_THAT(altered.error().message, Catch::Contains("signature"));

    // alg "none" with no signature.
    std::string none = base64url(R"({"alg":"none","typ":"JWT","kid":")" + r.first_kid + R"("})") + "." + payload + ".";
    CHECK_FALSE(verify_token(*r.ring, none, now));

    // Signed by a key this ring does not hold (another control plane's).
    Ring other;
    auto foreign = verify_token(*r.ring, other.issue(Role::Admin, "ops"), now);
    REQUIRE_FALSE(foreign);
    CHECK(foreign.error().code == "auth.invalid_token");

    // The signature's last character with its two padding bits set: the same bytes to a
    // decoder, another spelling of the token, refused (one token, one spelling).
    static const std::string kBase64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    REQUIRE(signature.size() == 43);
    REQUIRE(kBase64url.find(signature.back()) % 4 == 0);
    for (int low = 1; low < 4; ++low) {
        std::string respelled = jwt;
        respelled.back() = kBase64url[kBase64url.find(signature.back()) + static_cast<size_t>(low)];
        auto other_spelling = verify_token(*r.ring, respelled, now);
        REQUIRE_FALSE(other_spelling);
        CHECK_THAT(other_spelling.error().message, Catch::Contains("canonical"));
    }
    CHECK(verify_token(*r.ring, jwt, now));

    CHECK_FALSE(verify_token(*r.ring, std::string(kMaxTokenBytes + 1, 'a'), now));
    CHECK_FALSE(verify_token(*r.ring, "not a token", now));
    CHECK_FALSE(verify_token(*r.ring, "a.b.c", now));
    CHECK_FALSE(verify_token(*r.ring, "", now));
    CHECK_FALSE(issue_token(*r.ring, {Role::Patient, std::string(65, 'P'), now + 1h}, now));
    CHECK_FALSE(issue_token(*r.ring, {Role::Patient, "P 1", now + 1h}, now));
}

TEST_CASE("access token: a key added to the ring signs from then on, and tokens of the old key verify until it is removed") {
    Ring r;
    auto old_token = r.issue(Role::Operator, "ops");
    r.clock.advance(2s);  // a new kid (named by time), and past the ring's once-a-second check
    auto new_kid = KeyRing::create_key(r.dir, r.clock.wall_now());
    REQUIRE(new_kid);
    // The directory's mtime moved: the next use reloads it.
    CHECK(r.ring->signing_key().kid == *new_kid);
    auto new_token = r.issue(Role::Operator, "ops");
    CHECK(verify_token(*r.ring, old_token, at(r.clock)));
    CHECK(verify_token(*r.ring, new_token, at(r.clock)));

    r.clock.advance(2s);
    std::filesystem::remove(r.dir + "/" + r.first_kid + ".key");
    // A filesystem whose mtime has a coarse grain may not show the change; touch the dir.
    std::filesystem::last_write_time(r.dir, std::filesystem::file_time_type::clock::now() + 1s);
    CHECK_FALSE(verify_token(*r.ring, old_token, at(r.clock)));
    CHECK(verify_token(*r.ring, new_token, at(r.clock)));
}

TEST_CASE("access token: a damaged key file is an error naming it, at open and at reload (the loaded keys stay)") {
    Ring r;
    auto token = r.issue(Role::Viewer, "v");
    { std::ofstream(r.dir + "/zzz.key") << "not hex\n"; }
    auto refused = KeyRing::open(r.dir, r.clock);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "auth.keys");
    CHECK_THAT(refused.error().message, Catch::Contains("zzz.key") && Catch::Contains("64 to 256 hex digits"));
    r.clock.advance(2s);
    std::filesystem::last_write_time(r.dir, std::filesystem::file_time_type::clock::now() + 2s);
    CHECK(verify_token(*r.ring, token, at(r.clock)));  // the running ring kept its keys
    CHECK(r.ring->signing_key().kid == r.first_kid);
    CHECK_FALSE(KeyRing::open(test::make_temp_dir("empty-keys"), r.clock));
    // A key file far larger than any key is refused before it is read.
    std::string huge_dir = test::make_temp_dir("huge-keys");
    { std::ofstream(huge_dir + "/big.key") << std::string(10 * 1024 * 1024, 'a') << "\n"; }
    auto huge = KeyRing::open(huge_dir, r.clock);
    REQUIRE_FALSE(huge);
    CHECK_THAT(huge.error().message, Catch::Contains("big.key"));
}

TEST_CASE("access token: signing and verifying on many threads at once never crashes (POCO's OpenSSL reference count)") {
    // The control plane verifies a token on every HTTP thread. POCO 1.11 tears OpenSSL's
    // locks down whenever its last user goes, racing a thread that is just starting one:
    // without a process-long reference this loop segfaults under ThreadSanitizer every run,
    // and did once in CI (outbox_test) with a normal build.
    Ring r;
    std::atomic<int> verified{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                auto jwt = issue_token(*r.ring, {Role::Operator, "op-" + std::to_string(i), at(r.clock) + 1h}, at(r.clock));
                if (jwt && verify_token(*r.ring, *jwt, at(r.clock))) ++verified;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(verified == 8 * 2000);
}

TEST_CASE("access token: a portal session's id travels in the token and is checked for form") {
    Ring r;
    const std::string sid = "0123456789abcdef0123456789abcdef";
    auto jwt = issue_token(*r.ring, {Role::Patient, "P-1", at(r.clock) + 1h, sid}, at(r.clock));
    REQUIRE(jwt);
    auto token = verify_token(*r.ring, *jwt, at(r.clock));
    REQUIRE(token);
    CHECK(token->session == sid);
    CHECK(verify_token(*r.ring, r.issue(Role::Patient, "P-1"), at(r.clock))->session.empty());
    for (const std::string& bad : {std::string("ABC"), std::string("12 34"), std::string(65, 'a')}) {
        auto refused = issue_token(*r.ring, {Role::Patient, "P-1", at(r.clock) + 1h, bad}, at(r.clock));
        CHECK(refused.error().code == "auth.bad_session");
    }
}

TEST_CASE("access token: a remembered token is still refused once expired or once its key is gone") {
    Ring r;
    VerifiedTokens verified;
    auto jwt = r.issue(Role::Patient, "P-DEMO-2", 10min);
    for (int i = 0; i < 2; ++i) {  // the first check in full, the second remembered
        auto token = verified.verify(*r.ring, jwt, at(r.clock));
        REQUIRE(token);
        CHECK(token->subject == "P-DEMO-2");
    }
    auto altered = jwt;
    altered[altered.rfind('.') - 2] ^= 1;  // the same token with one payload character changed
    CHECK_FALSE(verified.verify(*r.ring, altered, at(r.clock)));

    r.clock.advance(2s);
    auto second_kid = KeyRing::create_key(r.dir, r.clock.wall_now());
    REQUIRE(second_kid);
    auto other = r.issue(Role::Operator, "ops", 10min);  // signed by the new key
    REQUIRE(verified.verify(*r.ring, other, at(r.clock)));
    r.clock.advance(2s);
    std::filesystem::remove(r.dir + "/" + r.first_kid + ".key");
    std::filesystem::last_write_time(r.dir, std::filesystem::file_time_type::clock::now() + 1s);
    auto gone = verified.verify(*r.ring, jwt, at(r.clock));
    REQUIRE_FALSE(gone);
    CHECK_THAT(gone.error().message, Catch::Contains("does not hold"));

    r.clock.advance(10min);
    auto late = verified.verify(*r.ring, other, at(r.clock));
    REQUIRE_FALSE(late);
    CHECK_THAT(late.error().message, Catch::Contains("expired"));
}
