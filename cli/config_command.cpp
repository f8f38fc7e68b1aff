// `hisgate config push|history|rollback` and `hisgate flags set|list|rm`: remote
// configuration and feature flags through the control plane's API
// (controlplane/config_push.h; docs/config-push.md). Exit 0 when done (a push: every
// hospital applied or queued it), 1 when the API refused or a hospital refused, reverted
// or could not be reached, 2 on bad arguments.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {

using json = nlohmann::json;

const char* kConfigUsage =
    "usage: hisgate config push <hospital|selector> params.json [--now] [--json]\n"
    "       hisgate config history <hospital> [--json]\n"
    "       hisgate config rollback <hospital> [--to N] [--json]\n"
    "  a selector is region=R[,dialect=D][,version=V]: params.json is then a merge patch over each\n"
    "  hospital's newest applied set; --now applies at once instead of at the quiet window\n"
    "  [--url URL] [--token-file F] [--config FILE]\n";
const char* kFlagsUsage =
    "usage: hisgate flags set NAME [--hospitals H1,H2] [--select region=R[,dialect=D]] [--percent P]\n"
    "                              [--min-version V] [--json]\n"
    "       hisgate flags list [--json]\n"
    "       hisgate flags rm NAME [--json]\n"
    "  [--url URL] [--token-file F] [--config FILE]\n";

// A push waits for agents that apply, then run their doctor's path checks.
constexpr int kPushTimeoutSeconds = 120;

int config_usage(const char* group, const char* text, const std::string& why) {
    std::fprintf(stderr, "hisgate %s: %s\n%s", group, why.c_str(), text);
    return 2;
}

int refused(const char* group, const Error& e) {
    std::fprintf(stderr, "hisgate %s: %s\n", group, e.describe().c_str());
    return 1;
}

std::string text_of(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return "-";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

// One line per hospital of a push or rollback; true when every one applied or queued.
bool print_results(const json& answer) {
    bool all_good = true;
    std::printf("%s  %s  %s  %s\n", column("hospital", 12).c_str(), column("version", 8).c_str(),
                column("status", 10).c_str(), "detail");
    for (const auto& r : answer.value("results", json::array())) {
        std::string status = text_of(r, "status");
        if (status != "applied" && status != "queued") all_good = false;
        std::string detail;
        const json d = r.value("detail", json::object());
        if (d.contains("applyAfter")) detail = "at " + text_of(d, "applyAfter");
        for (const char* list : {"errors", "failedChecks", "atRestart"})
            if (d.contains(list) && d[list].is_array() && !d[list].empty()) {
                detail += std::string(detail.empty() ? "" : "; ") + list + ":";
                for (const auto& line : d[list]) detail += " " + (line.is_string() ? line.get<std::string>() : line.dump());
            }
        if (d.contains("error")) detail = text_of(d["error"], "code") + ": " + text_of(d["error"], "message");
        if (d.contains("reason")) detail = text_of(d, "reason");
        std::printf("%s  %s  %s  %s\n", column(text_of(r, "hospitalId"), 12).c_str(), column(text_of(r, "version"), 8).c_str(),
                    column(status, 10).c_str(), detail.c_str());
    }
    return all_good;
}

}  // namespace

int config_main(const Args& given) {
    Args args = given;
    auto target = api_target(args);
    if (!target) return config_usage("config", kConfigUsage, target.error().message);
    if (args.empty()) return config_usage("config", kConfigUsage, "push, history or rollback?");
    const std::string sub = args[0];
    bool as_json = false, now = false;
    std::optional<int64_t> to;
    std::vector<std::string> words;
    for (size_t i = 1; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--json") as_json = true;
        else if (a == "--now" && sub == "push") now = true;
        else if (a == "--to" && sub == "rollback" && i + 1 < args.size()) {
            try {
                to = std::stoll(args[++i]);
            } catch (const std::exception&) {
                return config_usage("config", kConfigUsage, "--to takes a version number");
            }
        } else if (a.rfind("--", 0) == 0) return config_usage("config", kConfigUsage, "unexpected argument '" + a + "'");
        else words.push_back(a);
    }
    Result<json> answer = make_error(ErrorClass::BadInput, "cli.usage", "");
    if (sub == "push") {
        if (words.size() != 2) return config_usage("config", kConfigUsage, "push takes a hospital (or selector) and a file");
        std::ifstream in(words[1]);
        if (!in) return config_usage("config", kConfigUsage, "cannot read " + words[1]);
        auto params = json::parse(in, nullptr, false);
        if (params.is_discarded() || !params.is_object())
            return config_usage("config", kConfigUsage, words[1] + " is not a JSON object (run hisgate params validate on it)");
        json body = {{"target", words[0]}, {"params", params}, {"mode", now ? "now" : "standard"}};
        answer = api_request(*target, "POST", "/api/v1/config/push", &body, kPushTimeoutSeconds);
    } else if (sub == "history") {
        if (words.size() != 1) return config_usage("config", kConfigUsage, "history takes a hospital");
        answer = api_get(*target, "/api/v1/hospitals/" + url_encode(words[0]) + "/config");
        if (answer && !as_json) {
            std::printf("%s  %s  %s  %s  %s  %s\n", column("version", 8).c_str(), column("status", 10).c_str(),
                        column("mode", 8).c_str(), column("pushed by", 16).c_str(), column("pushed at", 24).c_str(), "hash");
            for (const auto& r : answer->value("history", json::array())) {
                std::string version = text_of(r, "version");
                if (r.contains("rollbackOf")) version += " (rollback of " + text_of(r, "rollbackOf") + ")";
                std::printf("%s  %s  %s  %s  %s  %s\n", column(version, 8).c_str(), column(text_of(r, "status"), 10).c_str(),
                            column(text_of(r, "mode"), 8).c_str(), column(text_of(r, "pushedBy"), 16).c_str(),
                            column(text_of(r, "pushedAt"), 24).c_str(), text_of(r, "hash").substr(0, 12).c_str());
            }
            return 0;
        }
    } else if (sub == "rollback") {
        if (words.size() != 1) return config_usage("config", kConfigUsage, "rollback takes a hospital");
        json body = json::object();
        if (to) body["to"] = *to;
        answer = api_request(*target, "POST", "/api/v1/hospitals/" + url_encode(words[0]) + "/config/rollback", &body,
                             kPushTimeoutSeconds);
    } else {
        return config_usage("config", kConfigUsage, "unknown subcommand '" + sub + "'");
    }
    if (!answer) return refused("config", answer.error());
    if (as_json) {
        std::printf("%s\n", answer->dump(2, ' ', false, json::error_handler_t::replace).c_str());
        if (sub == "history") return 0;
        for (const auto& r : answer->value("results", json::array()))
            if (text_of(r, "status") != "applied" && text_of(r, "status") != "queued") return 1;
        return 0;
    }
    return print_results(answer.value()) ? 0 : 1;
}

int flags_main(const Args& given) {
    Args args = given;
    auto target = api_target(args);
    if (!target) return config_usage("flags", kFlagsUsage, target.error().message);
    if (args.empty()) return config_usage("flags", kFlagsUsage, "set, list or rm?");
    const std::string sub = args[0];
    bool as_json = false;
    json flag = json::object();
    std::vector<std::string> words;
    auto split = [](const std::string& s) {
        std::vector<std::string> out;
        std::stringstream in(s);
        for (std::string part; std::getline(in, part, ',');)
            if (!part.empty()) out.push_back(part);
        return out;
    };
    for (size_t i = 1; i < args.size(); ++i) {
        const auto& a = args[i];
        bool has_value = i + 1 < args.size();
        if (a == "--json") as_json = true;
        else if (sub == "set" && a == "--hospitals" && has_value) flag["hospitals"] = split(args[++i]);
        else if (sub == "set" && a == "--select" && has_value) {
            json selector = json::object();
            for (const auto& kv : split(args[++i])) {
                auto eq = kv.find('=');
                if (eq == std::string::npos) return config_usage("flags", kFlagsUsage, "--select takes key=value pairs");
                selector[kv.substr(0, eq)] = kv.substr(eq + 1);
            }
            flag["selector"] = selector;
        } else if (sub == "set" && a == "--percent" && has_value) {
            try {
                flag["percent"] = std::stoi(args[++i]);
            } catch (const std::exception&) {
                return config_usage("flags", kFlagsUsage, "--percent takes 0 to 100");
            }
        } else if (sub == "set" && a == "--min-version" && has_value) flag["minVersion"] = args[++i];
        else if (a.rfind("--", 0) == 0) return config_usage("flags", kFlagsUsage, "unexpected argument '" + a + "'");
        else words.push_back(a);
    }
    Result<json> answer = make_error(ErrorClass::BadInput, "cli.usage", "");
    if (sub == "set" || sub == "rm") {
        if (words.size() != 1) return config_usage("flags", kFlagsUsage, sub + " takes a flag name");
        std::string path = "/api/v1/flags/" + url_encode(words[0]);
        answer = sub == "set" ? api_request(*target, "PUT", path, &flag, kPushTimeoutSeconds)
                              : api_request(*target, "DELETE", path, nullptr, kPushTimeoutSeconds);
    } else if (sub == "list") {
        if (!words.empty()) return config_usage("flags", kFlagsUsage, "list takes no names");
        answer = api_get(*target, "/api/v1/flags");
    } else {
        return config_usage("flags", kFlagsUsage, "unknown subcommand '" + sub + "'");
    }
    if (!answer) return refused("flags", answer.error());
    if (as_json) {
        std::printf("%s\n", answer->dump(2, ' ', false, json::error_handler_t::replace).c_str());
        return 0;
    }
    if (sub == "list") {
        std::printf("%s  %s  %s  %s  %s\n", column("flag", 24).c_str(), column("percent", 7).c_str(),
                    column("min version", 11).c_str(), column("selector", 24).c_str(), "hospitals");
        for (const auto& f : answer->value("flags", json::array()))
            std::printf("%s  %s  %s  %s  %s\n", column(text_of(f, "name"), 24).c_str(), column(text_of(f, "percent"), 7).c_str(),
                        column(text_of(f, "minVersion"), 11).c_str(), column(f.value("selector", json::object()).dump(), 24).c_str(),
                        f.value("hospitals", json::array()).dump().c_str());
        const json online = answer->value("enabledOnline", json::object());
        for (const auto& [h, on] : online.items())
            std::printf("on at %s: %s\n", h.c_str(), on.dump().c_str());
        return 0;
    }
    for (const auto& d : answer->value("delivered", json::array()))
        std::printf("%s: %s\n", text_of(d, "hospitalId").c_str(),
                    d.contains("error") ? ("not delivered (" + text_of(d, "error") + ")").c_str()
                                        : ("on here: " + d.value("enabled", json::array()).dump()).c_str());
    std::printf("%s %s\n", sub == "set" ? "set" : "removed", words[0].c_str());
    return 0;
}

}  // namespace hisgate::cli
