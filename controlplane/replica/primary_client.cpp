#include "controlplane/replica/primary_client.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <filesystem>
#include <fstream>

#include "common/bounded_json.h"

namespace hisgate::controlplane::replica {

namespace {

Error unreachable(const std::string& what) {
    return make_error(ErrorClass::Unavailable, "primary.unreachable", "the primary's replication API: " + what);
}

ErrorClass class_of_status(int status) {
    if (status == 404 || status == 410) return ErrorClass::NotFound;
    if (status == 400 || status == 409) return ErrorClass::BadInput;
    if (status == 401 || status == 403) return ErrorClass::Rejected;
    if (status == 503) return ErrorClass::Unavailable;
    return ErrorClass::Protocol;
}

// The API's error body {"code", "message"} as an Error.
Error api_error(int status, const std::string& body) {
    auto doc = parse_bounded_json(body.substr(0, 64 * 1024), {"an error answer", 64 * 1024, "primary"});
    if (doc && doc->is_object() && doc->contains("code") && (*doc)["code"].is_string() &&
        (*doc)["code"].get_ref<const std::string&>().size() <= 64) {
        auto message = doc->value("message", nlohmann::json());
        return make_error(class_of_status(status), (*doc)["code"].get<std::string>(),
                          message.is_string() ? message.get<std::string>().substr(0, 512) : std::string());
    }
    return make_error(class_of_status(status), "primary.http_" + std::to_string(status), "the primary answered " + std::to_string(status));
}

// Reads at most `max` bytes of `in` into `out`; false when there were more.
bool read_bounded(std::istream& in, std::string& out, size_t max) {
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        out.append(buf, static_cast<size_t>(in.gcount()));
        if (out.size() > max) return false;
    }
    return true;
}

}  // namespace

Result<StreamPage> PrimaryClient::stream(int64_t after, std::chrono::milliseconds wait) {
    std::string body;
    int status = 0;
    try {
        auto opened = open_client_session({address_.host, address_.port, address_.tls});
        auto& session = *opened;
        session.setTimeout(Poco::Timespan(static_cast<long>(wait.count() / 1000 + 15), 0));
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET,
                                   "/api/v1/replication/stream?after=" + std::to_string(after) +
                                       "&wait_ms=" + std::to_string(wait.count()),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
        req.set("Authorization", "Bearer " + address_.token);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        auto& in = session.receiveResponse(res);
        status = static_cast<int>(res.getStatus());
        if (!read_bounded(in, body, kMaxPageBytes))
            return make_error(ErrorClass::Protocol, "primary.too_large",
                              "a stream page over " + std::to_string(kMaxPageBytes) + " bytes");
    } catch (const Poco::Exception& e) {
        return unreachable(e.displayText());
    } catch (const std::exception& e) {
        return unreachable(e.what());
    }
    if (status != 200) return api_error(status, body);
    auto doc = parse_bounded_json(body, {"a stream page", kMaxPageBytes, "primary"});
    if (!doc) return doc.error();
    auto bad = [](const std::string& what) {
        return make_error(ErrorClass::Protocol, "primary.bad_page", "a stream page: " + what);
    };
    const auto& j = *doc;
    if (!j.is_object() || !j.contains("head") || !j["head"].is_object() || !j.contains("entries") ||
        !j["entries"].is_array() || !j.contains("nowMs") || !j["nowMs"].is_number_integer())
        return bad("expected {\"head\", \"nowMs\", \"entries\"}");
    const auto& h = j["head"];
    StreamPage page;
    for (const char* f : {"pos", "atMs", "oldest"})
        if (!h.contains(f) || !h[f].is_number_integer()) return bad(std::string("head.") + f + ": expected an integer");
    if (!h.contains("checksum") || !h["checksum"].is_string()) return bad("head.checksum: expected 16 hex digits");
    auto sum = public_partition::parse_checksum(h["checksum"].get<std::string>());
    if (!sum) return bad("head.checksum: " + sum.error().message);
    page.head = {h["pos"].get<int64_t>(), *sum, h["atMs"].get<int64_t>(), h["oldest"].get<int64_t>()};
    page.now_ms = j["nowMs"].get<int64_t>();
    page.entries.reserve(j["entries"].size());
    for (const auto& e : j["entries"]) {
        auto entry = public_partition::parse_stream_entry(e);
        if (!entry) return make_error(ErrorClass::Protocol, "primary.bad_entry", entry.error().message);
        page.entries.push_back(std::move(entry.value()));
    }
    return page;
}

Result<public_partition::Position> PrimaryClient::snapshot(const std::string& path) {
    try {
        auto opened = open_client_session({address_.host, address_.port, address_.tls});
        auto& session = *opened;
        session.setTimeout(Poco::Timespan(600, 0));
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/api/v1/replication/snapshot",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
        req.set("Authorization", "Bearer " + address_.token);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        auto& in = session.receiveResponse(res);
        const int status = static_cast<int>(res.getStatus());
        if (status != 200) {
            std::string body;
            read_bounded(in, body, 64 * 1024);
            return api_error(status, body);
        }
        const std::string pos_text = res.get("Stream-Position", "");
        auto sum = public_partition::parse_checksum(res.get("Stream-Checksum", ""));
        if (pos_text.empty() || pos_text.size() > 16 || pos_text.find_first_not_of("0123456789") != std::string::npos || !sum)
            return make_error(ErrorClass::Protocol, "primary.bad_snapshot", "a snapshot without its Stream-Position and Stream-Checksum");
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out) return make_error(ErrorClass::Internal, "replica.storage", "cannot write " + path);
        char buf[1 << 16];
        uint64_t total = 0;
        while (in.read(buf, sizeof buf) || in.gcount() > 0) {
            total += static_cast<uint64_t>(in.gcount());
            if (total > kMaxSnapshotBytes)
                return make_error(ErrorClass::Protocol, "primary.too_large", "a snapshot over the bound");
            out.write(buf, in.gcount());
        }
        out.close();
        if (!out) return make_error(ErrorClass::Internal, "replica.storage", "cannot write " + path);
        // The connection may end before the body it announced: a cut file is no snapshot.
        if (in.bad() || (res.hasContentLength() && static_cast<Poco::Int64>(total) != res.getContentLength64())) {
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
            return make_error(ErrorClass::Protocol, "primary.truncated",
                              "a snapshot cut short: " + std::to_string(total) + " bytes of " +
                                  std::to_string(res.getContentLength64()));
        }
        return public_partition::Position{std::stoll(pos_text), *sum};
    } catch (const Poco::Exception& e) {
        return unreachable(e.displayText());
    } catch (const std::exception& e) {
        return unreachable(e.what());
    }
}

}  // namespace hisgate::controlplane::replica
