// The portal's static files (controlplane/web/static_files.h) over a real loopback server:
// content types, index.html for the app's screens, precompressed assets, cache headers,
// and paths that must never reach the file system.
#include <catch2/catch.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <filesystem>
#include <fstream>

#include "common/http_server.h"
#include "controlplane/web/static_files.h"

using hisgate::controlplane::web::StaticFiles;

namespace {
struct StaticFilesAnswer {
    int status = 0;
    std::string body;
    Poco::Net::HTTPResponse head;
};

StaticFilesAnswer static_files_get(uint16_t port, const std::string& target, const std::string& method = "GET",
                                   bool gzip = false) {
    Poco::Net::HTTPClientSession s("127.0.0.1", port);
    Poco::Net::HTTPRequest req(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    if (gzip) req.set("Accept-Encoding", "gzip, deflate, br");
    s.sendRequest(req);
    StaticFilesAnswer a;
    auto& in = s.receiveResponse(a.head);
    Poco::StreamCopier::copyToString(in, a.body);
    a.status = a.head.getStatus();
    return a;
}

void static_files_write(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}
}  // namespace

TEST_CASE("static files: the portal's files with their types, caching and precompressed forms") {
    auto dir = std::filesystem::temp_directory_path() / ("hisgate-web-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    static_files_write(dir / "index.html", "<!doctype html><title>portal</title>");
    static_files_write(dir / "assets/app-5PQ2XKJM.js", "console.log(1)");
    static_files_write(dir / "assets/app-5PQ2XKJM.js.gz", "GZIPPED");
    static_files_write(dir / "assets/app-5PQ2XKJM.css", "body{}");
    static_files_write(dir / "config.json", "{}");
    static_files_write(dir / "../secret.txt", "never");
    StaticFiles files(dir.string());
    hisgate::HttpServer server("127.0.0.1", 0, [&](auto& req, auto& res) {
        if (StaticFiles::serves(req.getURI())) return files.handle(req, res);
        hisgate::send_text(res, 200, "text/plain", "api");
    });
    REQUIRE(server.start());
    const uint16_t port = server.port();

    SECTION("index.html for the root and every screen, never cached") {
        for (const char* target : {"/", "/bookings", "/reports/H001/R-DEMO-1", "/search?q=%E7%8E%8B", "/book/H001/S-DR-101-2026-12-07-08%3A00"}) {
            auto a = static_files_get(port, target);
            CHECK(a.status == 200);
            CHECK(a.body == "<!doctype html><title>portal</title>");
            CHECK(a.head.getContentType() == "text/html; charset=utf-8");
            CHECK(a.head.get("Cache-Control") == "no-store");
            CHECK(a.head.get("X-Content-Type-Options") == "nosniff");
            CHECK(a.head.get("Content-Security-Policy").find("script-src 'self';") != std::string::npos);
            CHECK(a.head.get("X-Frame-Options") == "DENY");
        }
    }
    SECTION("a hashed asset: its type, a year's immutable cache, gzip when accepted") {
        auto plain = static_files_get(port, "/assets/app-5PQ2XKJM.js");
        CHECK(plain.status == 200);
        CHECK(plain.body == "console.log(1)");
        CHECK(plain.head.getContentType() == "text/javascript; charset=utf-8");
        CHECK(plain.head.get("Cache-Control") == "public, max-age=31536000, immutable");
        CHECK_FALSE(plain.head.has("Content-Encoding"));
        CHECK(plain.head.get("Vary") == "Accept-Encoding");
        auto zipped = static_files_get(port, "/assets/app-5PQ2XKJM.js", "GET", true);
        CHECK(zipped.body == "GZIPPED");
        CHECK(zipped.head.get("Content-Encoding") == "gzip");
        CHECK(zipped.head.getContentType() == "text/javascript; charset=utf-8");
        auto css = static_files_get(port, "/assets/app-5PQ2XKJM.css", "GET", true);  // no .gz: sent as it is
        CHECK(css.body == "body{}");
        CHECK(css.head.getContentType() == "text/css; charset=utf-8");
        CHECK_FALSE(css.head.has("Content-Encoding"));
    }
    SECTION("an unhashed file is revalidated") {
        auto a = static_files_get(port, "/config.json");
        CHECK(a.status == 200);
        CHECK(a.head.getContentType() == "application/json");
        CHECK(a.head.get("Cache-Control") == "no-cache");
    }
    SECTION("missing files, escapes and other methods are refused without reading outside the directory") {
        CHECK(static_files_get(port, "/assets/none-5PQ2XKJM.js").status == 404);
        CHECK(static_files_get(port, "/../secret.txt").status == 404);
        CHECK(static_files_get(port, "/assets/..%2f..%2fsecret.txt").status == 404);
        CHECK(static_files_get(port, "/assets//app-5PQ2XKJM.js").status == 404);
        auto post = static_files_get(port, "/", "POST");
        CHECK(post.status == 405);
        CHECK(post.head.get("Allow") == "GET, HEAD");
    }
    SECTION("the API, /metrics and /healthz are not the front end's") {
        CHECK(static_files_get(port, "/api/v1/hospitals").body == "api");
        CHECK(static_files_get(port, "/metrics").body == "api");
        CHECK(static_files_get(port, "/healthz").body == "api");
        CHECK(static_files_get(port, "/fhir/r4/metadata").body == "api");
    }
    CHECK(StaticFiles::hashed("assets/index-ABCD1234.js"));
    CHECK_FALSE(StaticFiles::hashed("assets/index.js"));
    CHECK_FALSE(StaticFiles::hashed("config.json"));
    server.stop();
    std::filesystem::remove_all(dir);
    std::filesystem::remove(dir.parent_path() / "secret.txt");
}
