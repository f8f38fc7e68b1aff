#include "cli/api_client.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hisgate::cli {

namespace {
constexpr std::size_t kMaxTokenBytes = 16 * 1024;
constexpr std::size_t kMaxConfigBytes = 64 * 1024;
constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;

Error config_error(const std::string& what) { return make_error(ErrorClass::Config, "cli.api_target", what); }

Result<std::string> read_small_file(const std::string& path, std::size_t max, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return config_error(what + " " + path + ": cannot open it");
    std::string text(max + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > max) return config_error(what + " " + path + ": expected at most " + std::to_string(max) + " bytes");
    return text;
}

std::string trimmed(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The value of `--name VALUE` in args, removed from them.
std::optional<std::string> take_flag(Args& args, const std::string& name, std::optional<Error>& problem) {
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] != name) continue;
        if (i + 1 >= args.size()) {
            problem = config_error(name + ": expected a value after it");
            return std::nullopt;
        }
        std::string v = args[i + 1];
        args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
        return v;
    }
    return std::nullopt;
}

std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
}
}  // namespace

Result<ApiTarget> take_api_target(Args& args) {
    std::optional<Error> problem;
    auto url = take_flag(args, "--url", problem);
    auto token_file = take_flag(args, "--token-file", problem);
    auto config = take_flag(args, "--config", problem);
    if (problem) return *problem;
    if (!url) url = env("HISGATE_URL");
    if (!token_file) token_file = env("HISGATE_TOKEN_FILE");
    if (!config) config = env("HISGATE_CLI_CONFIG");
    bool config_required = config.has_value();
    if (!config)
        if (auto home = env("HOME")) config = *home + "/.config/hisgate/cli.json";
    if (config && (!url || !token_file)) {
        std::ifstream probe(*config);
        if (probe || config_required) {
            auto text = read_small_file(*config, kMaxConfigBytes, "the CLI config");
            if (!text) return text.error();
            auto doc = nlohmann::json::parse(*text, nullptr, false);
            if (doc.is_discarded() || !doc.is_object())
                return config_error(*config + ": expected a JSON object {\"url\", \"token_file\"}");
            for (const auto& [key, value] : doc.items()) {
                if (key != "url" && key != "token_file")
                    return config_error(*config + ": " + key + ": unknown key (expected url, token_file)");
                if (!value.is_string()) return config_error(*config + ": " + key + ": expected a string");
            }
            if (!url && doc.contains("url")) url = doc["url"].get<std::string>();
            if (!token_file && doc.contains("token_file")) token_file = doc["token_file"].get<std::string>();
        }
    }
    ApiTarget t;
    if (url) {
        try {
            Poco::URI u(*url);
            if (u.getScheme() != "http" || u.getHost().empty() || !u.getQuery().empty())
                return config_error("the API URL " + *url + ": expected http://host[:port][/path]");
            t.host = u.getHost();
            t.port = u.getPort();
            t.base_path = u.getPath();
            while (!t.base_path.empty() && t.base_path.back() == '/') t.base_path.pop_back();
        } catch (const Poco::Exception&) {
            return config_error("the API URL " + *url + ": expected http://host[:port][/path]");
        }
    }
    if (token_file) {
        auto text = read_small_file(*token_file, kMaxTokenBytes, "the token file");
        if (!text) return text.error();
        t.token = trimmed(*text);
    }
    return t;
}

Result<ApiReply> api_get(const ApiTarget& target, const std::string& path_and_query) {
    try {
        Poco::Net::HTTPClientSession session(target.host, target.port);
        session.setTimeout(Poco::Timespan(30, 0));
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, target.base_path + path_and_query,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
        if (!target.token.empty()) req.set("Authorization", "Bearer " + target.token);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        std::istream& in = session.receiveResponse(res);
        ApiReply reply;
        reply.status = static_cast<int>(res.getStatus());
        char buf[65536];
        while (in.read(buf, sizeof buf) || in.gcount() > 0) {
            reply.body.append(buf, static_cast<size_t>(in.gcount()));
            if (reply.body.size() > kMaxAnswerBytes)
                return make_error(ErrorClass::Protocol, "api.answer_too_large",
                                  "the API's answer is over " + std::to_string(kMaxAnswerBytes) + " bytes");
        }
        return reply;
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "api.unreachable",
                          "http://" + target.host + ":" + std::to_string(target.port) + ": " + e.displayText());
    }
}

std::string query_escape(const std::string& value) {
    std::string out;
    Poco::URI::encode(value, "&=+#?/%", out);
    return out;
}

std::string describe_api_error(const ApiReply& reply) {
    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    if (doc.is_object() && doc.contains("code") && doc["code"].is_string()) {
        std::string msg = doc.contains("message") && doc["message"].is_string() ? doc["message"].get<std::string>() : "";
        return "HTTP " + std::to_string(reply.status) + " " + doc["code"].get<std::string>() + ": " + msg;
    }
    return "HTTP " + std::to_string(reply.status) + ": " + reply.body.substr(0, 200);
}

}  // namespace hisgate::cli
