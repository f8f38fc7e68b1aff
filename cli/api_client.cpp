#include "cli/api_client.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/config.h"

namespace hisgate::cli {

namespace {
std::string config_path() {
    if (const char* p = std::getenv("HISGATE_CLI_CONFIG"); p && *p) return p;
    if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return std::string(x) + "/hisgate/cli.json";
    if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.config/hisgate/cli.json";
    return "";
}

std::optional<std::string> take_flag(Args& args, const std::string& flag) {
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == flag && i + 1 < args.size()) {
            std::string v = args[i + 1];
            args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
            return v;
        }
        if (args[i].rfind(flag + "=", 0) == 0) {
            std::string v = args[i].substr(flag.size() + 1);
            args.erase(args.begin() + static_cast<long>(i));
            return v;
        }
    }
    return std::nullopt;
}

Error config_error(const std::string& what) { return make_error(ErrorClass::Config, "cli.config", what); }
}  // namespace

Result<ApiTarget> api_target(Args& args) {
    auto url = take_flag(args, "--url");
    auto token_file = take_flag(args, "--token-file");
    auto ca_file = take_flag(args, "--ca-file");
    auto given_config = take_flag(args, "--config");
    std::string path = given_config ? *given_config : config_path();
    if (given_config && !std::ifstream(path).good()) return config_error("cannot read the CLI config file " + path);
    if ((!url || !token_file) && !path.empty() && std::ifstream(path).good()) {
        auto c = ConfigReader::load_file(path);
        if (!c) return c.error();
        std::string file_url = c->string("url", "");
        std::string file_token = c->string("token_file", "");
        std::string file_ca = c->string("ca_file", "");
        if (auto done = c->finish(); !done) return done.error();
        if (!url && !file_url.empty()) url = file_url;
        if (!token_file && !file_token.empty()) token_file = file_token;
        if (!ca_file && !file_ca.empty()) ca_file = file_ca;
    }
    if (!url)
        return config_error("no API URL: give --url http(s)://HOST:PORT or \"url\" in " +
                            (path.empty() ? std::string("$HISGATE_CLI_CONFIG") : path));
    if (!token_file)
        return config_error("no token: give --token-file FILE or \"token_file\" in " +
                            (path.empty() ? std::string("$HISGATE_CLI_CONFIG") : path) +
                            " (hisgate token issue makes one)");
    ApiTarget t;
    auto endpoint = endpoint_from_url(*url, ca_file.value_or(""));
    if (!endpoint) return config_error("--url: " + endpoint.error().message);
    t.endpoint = std::move(endpoint.value());
    std::ifstream in(*token_file);
    if (!in) return config_error("cannot read the token file " + *token_file);
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty() || token.size() > 8192) return config_error("the token file " + *token_file + " holds no token");
    t.token = token;
    return t;
}

namespace {
Result<nlohmann::json> api_call(const ApiTarget& target, const std::string& method, const std::string& path_and_query,
                                int timeout_seconds, const nlohmann::json* json_body = nullptr) {
    try {
        auto opened = open_client_session(target.endpoint);
        auto& session = *opened;
        session.setTimeout(Poco::Timespan(timeout_seconds, 0));
        Poco::Net::HTTPRequest req(method, path_and_query, Poco::Net::HTTPMessage::HTTP_1_1);
        req.set("Authorization", "Bearer " + target.token);
        const std::string sent = json_body ? json_body->dump() : "";
        if (json_body) req.setContentType("application/json");
        if (method == Poco::Net::HTTPRequest::HTTP_POST || json_body) req.setContentLength(static_cast<std::streamsize>(sent.size()));
        session.sendRequest(req) << sent;
        Poco::Net::HTTPResponse res;
        std::istream& body = session.receiveResponse(res);
        std::string text;
        char buf[65536];
        while (body.read(buf, sizeof buf) || body.gcount() > 0) {
            text.append(buf, static_cast<size_t>(body.gcount()));
            if (text.size() > kMaxApiAnswerBytes)
                return make_error(ErrorClass::Protocol, "cli.answer_too_large",
                                  "the API's answer is over " + std::to_string(kMaxApiAnswerBytes) + " bytes");
        }
        auto doc = nlohmann::json::parse(text, nullptr, false);
        int status = static_cast<int>(res.getStatus());
        if (status < 200 || status > 299) {
            std::string code = doc.is_object() && doc.contains("code") && doc["code"].is_string() ? doc["code"].get<std::string>()
                                                                                                   : "http." + std::to_string(status);
            std::string message = doc.is_object() && doc.contains("message") && doc["message"].is_string()
                                      ? doc["message"].get<std::string>()
                                      : res.getReason();
            ErrorClass cls = status == 404 ? ErrorClass::NotFound
                             : status == 400 ? ErrorClass::BadInput
                             : (status == 401 || status == 403) ? ErrorClass::Rejected
                                                                 : ErrorClass::Unavailable;
            return make_error(cls, code, "HTTP " + std::to_string(status) + ": " + message);
        }
        if (doc.is_discarded()) return make_error(ErrorClass::Protocol, "cli.bad_answer", "the API's answer is not JSON");
        return doc;
    } catch (const Poco::Exception& e) {
        return make_error(ErrorClass::Unavailable, "cli.unreachable",
                          "cannot reach the API at " + std::string(target.endpoint.tls ? "https://" : "http://") +
                              target.endpoint.host + ":" + std::to_string(target.endpoint.port) + ": " +
                              e.displayText());
    }
}
}  // namespace

Result<nlohmann::json> api_get(const ApiTarget& target, const std::string& path_and_query) {
    return api_call(target, Poco::Net::HTTPRequest::HTTP_GET, path_and_query, 30);
}

Result<nlohmann::json> api_post(const ApiTarget& target, const std::string& path_and_query, int timeout_seconds) {
    return api_call(target, Poco::Net::HTTPRequest::HTTP_POST, path_and_query, timeout_seconds);
}

Result<nlohmann::json> api_post_json(const ApiTarget& target, const std::string& path_and_query,
                                     const nlohmann::json& body) {
    return api_call(target, Poco::Net::HTTPRequest::HTTP_POST, path_and_query, 30, &body);
}

Result<nlohmann::json> api_request(const ApiTarget& target, const std::string& method, const std::string& path_and_query,
                                   const nlohmann::json* body, int timeout_seconds) {
    return api_call(target, method, path_and_query, timeout_seconds, body);
}

int run_list_command(const ListCommand& command, const Args& given) {
    const std::string me = std::string("hisgate ") + command.name + ": ";
    auto usage = [&](const std::string& why) {
        std::fprintf(stderr, "%s%s\n%s", me.c_str(), why.c_str(), command.usage);
        return 2;
    };
    Args args = given;
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::printf("%s", command.usage);
            return 0;
        }
    auto target = api_target(args);
    if (!target) return usage(target.error().message);
    std::string query;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        bool flag = false;
        for (const char* f : command.flags) flag = flag || a == f;
        if (a == "--json") json = true;
        else if (flag && i + 1 < args.size())
            query += (query.empty() ? "?" : "&") + a.substr(2) + "=" + url_encode(args[++i]);
        else return usage("unexpected argument '" + a + "'");
    }
    auto got = api_get(*target, command.path + query);
    if (!got) {
        std::fprintf(stderr, "%s%s: %s\n", me.c_str(), got.error().code.c_str(), got.error().message.c_str());
        return 1;
    }
    const auto& body = got.value();
    if (!body.is_object() || !body.contains(command.list_key) || !body[command.list_key].is_array()) {
        std::fprintf(stderr, "%sthe API's answer has no %s list\n", me.c_str(), command.list_key);
        return 1;
    }
    if (json) std::printf("%s\n", body.dump(2).c_str());
    else command.print_table(body);
    return 0;
}

std::string url_encode(const std::string& value) {
    std::string out;
    Poco::URI::encode(value, "!#$&'()*+,/:;=?@[]%\"<>\\^`{|} ", out);
    return out;
}

}  // namespace hisgate::cli
