// `hisgate rollout start|pause|resume|abort|status`: a release taken to the fleet in waves
// (POST/GET /api/v1/rollouts; docs/rollouts.md). `status` draws a progress bar per wave on
// a terminal and plain lines otherwise (a log, a pipe); `--watch` repeats it until the
// rollout is final. Exits 0 when the command went through (status: the rollout is not
// halted), 1 when the API refused it or the rollout halted, 2 on bad arguments.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
constexpr const char* kRolloutUsage =
    "usage: hisgate rollout start --release V [--waves 1%,10%,50%,100%] [--max-failure 5%]\n"
    "                             [--select region=R,dialect=D,version=V] [--wave-timeout 30m] [--soak 5m]\n"
    "                             [--canary H1,H2] [--override-params H1,H2|*] [--require-probes] [--json]\n"
    "       hisgate rollout pause|resume|abort <rollout id> [--json]\n"
    "       hisgate rollout status [<rollout id>] [--watch] [--json]\n"
    "  plus --url URL, --token-file F, --config FILE (or the CLI config file)\n";
constexpr int kWatchSeconds = 2;

int rollout_usage(const std::string& why) {
    std::fprintf(stderr, "hisgate rollout: %s\n%s", why.c_str(), kRolloutUsage);
    return 2;
}

nlohmann::json id_array(const std::string& list) {
    nlohmann::json out = nlohmann::json::array();
    size_t i = 0;
    while (i <= list.size()) {
        size_t j = list.find(',', i);
        if (j == std::string::npos) j = list.size();
        if (j > i) out.push_back(list.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

int64_t int_field(const nlohmann::json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// "[##########----------]" of `width` cells: settled share as '#'.
std::string bar(int64_t done, int64_t size, int width) {
    int filled = size > 0 ? static_cast<int>(done * width / size) : width;
    return "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '-') + "]";
}

// 1.0 -> "1", 0.5 -> "0.5".
std::string percent_text(const nlohmann::json& v) {
    if (!v.is_number()) return "?";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
}

void print_rollout(const nlohmann::json& r, bool terminal) {
    std::printf("rollout %s  release %s  %s  (by %s)\n", field_text(r, "id").c_str(), field_text(r, "release").c_str(),
                field_text(r, "state").c_str(), field_text(r, "createdBy").c_str());
    if (r.contains("waves") && r["waves"].is_array())
        for (const auto& w : r["waves"]) {
            const int64_t size = int_field(w, "size"), ok = int_field(w, "succeeded"), failed = int_field(w, "failed"),
                          held = int_field(w, "held"), refused = int_field(w, "refused"),
                          superseded = int_field(w, "superseded");
            const int64_t settled = ok + failed + held + refused + superseded;
            std::string head = "wave " + field_text(w, "wave") + " (" + percent_text(w.value("percent", nlohmann::json())) + "%)";
            if (terminal)
                std::printf("  %-16s %s %3lld/%-3lld", head.c_str(), bar(settled, size, 30).c_str(),
                            static_cast<long long>(settled), static_cast<long long>(size));
            else
                std::printf("  %s: %lld of %lld settled;", head.c_str(), static_cast<long long>(settled),
                            static_cast<long long>(size));
            std::printf(" succeeded %lld, failed %lld, held %lld, refused %lld, installing %lld%s\n",
                        static_cast<long long>(ok), static_cast<long long>(failed), static_cast<long long>(held),
                        static_cast<long long>(refused), static_cast<long long>(int_field(w, "installing")),
                        w.value("started", false) ? "" : " (not started)");
        }
    if (auto why = field_text(r, "haltReason"); !why.empty()) std::printf("  reason: %s\n", why.c_str());
    for (const char* list : {"failed", "held", "refused"}) {
        if (!r.contains(list) || !r[list].is_array()) continue;
        for (const auto& t : r[list]) {
            std::printf("  %s %s: %s\n", list, field_text(t, "hospitalId").c_str(), field_text(t, "reason").c_str());
            if (t.contains("paramsProblems") && t["paramsProblems"].is_array())
                for (const auto& p : t["paramsProblems"])
                    std::printf("      %s: %s\n", field_text(p, "parameter").c_str(), field_text(p, "problem").c_str());
        }
    }
}

bool is_final_state(const std::string& s) { return s == "halted" || s == "aborted" || s == "done"; }
}  // namespace

int rollout_main(const Args& given) {
    Args args = given;
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::printf("%s", kRolloutUsage);
        return args.empty() ? 2 : 0;
    }
    const std::string sub = args[0];
    args.erase(args.begin());
    auto target = api_target(args);
    if (!target) return rollout_usage(target.error().message);
    bool json = false, watch = false;
    std::string id;
    nlohmann::json body = nlohmann::json::object();
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) return std::nullopt;
            return args[++i];
        };
        if (a == "--json") json = true;
        else if (a == "--watch" && sub == "status") watch = true;
        else if (a == "--require-probes" && sub == "start") body["requireProbes"] = true;
        else if (sub == "start" && (a == "--release" || a == "--waves" || a == "--max-failure" || a == "--select" ||
                                    a == "--wave-timeout" || a == "--soak" || a == "--canary" || a == "--override-params")) {
            auto v = value();
            if (!v) return rollout_usage(a + " needs a value");
            if (a == "--release") body["release"] = *v;
            else if (a == "--waves") body["waves"] = *v;
            else if (a == "--max-failure") body["maxFailure"] = *v;
            else if (a == "--select") body["select"] = *v;
            else if (a == "--wave-timeout") body["waveTimeout"] = *v;
            else if (a == "--soak") body["soak"] = *v;
            else if (a == "--canary") body["canaries"] = id_array(*v);
            else body["overrideParams"] = id_array(*v);
        } else if (sub != "start" && id.empty() && a.rfind("--", 0) != 0) id = a;
        else return rollout_usage("unexpected argument '" + a + "'");
    }
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    auto show = [&](const nlohmann::json& r) {
        if (json) std::printf("%s\n", r.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        else print_rollout(r, terminal);
    };
    auto refused = [&](const Error& e) {
        std::fprintf(stderr, "hisgate rollout: %s\n", e.describe().c_str());
        return 1;
    };
    if (sub == "start") {
        if (!body.contains("release")) return rollout_usage("--release is required");
        auto started = api_post_json(*target, "/api/v1/rollouts", body);
        if (!started) return refused(started.error());
        show(*started);
        return 0;
    }
    if (sub == "pause" || sub == "resume" || sub == "abort") {
        if (id.empty()) return rollout_usage("which rollout?");
        auto changed = api_post(*target, "/api/v1/rollouts/" + url_encode(id) + "/" + sub);
        if (!changed) return refused(changed.error());
        show(*changed);
        return 0;
    }
    if (sub != "status") return rollout_usage("unknown subcommand '" + sub + "'");
    if (id.empty()) {
        auto list = api_get(*target, "/api/v1/rollouts");
        if (!list) return refused(list.error());
        if (json) std::printf("%s\n", list->dump(2).c_str());
        else if (list->contains("rollouts") && (*list)["rollouts"].is_array())
            for (const auto& r : (*list)["rollouts"]) print_rollout(r, terminal);
        return 0;
    }
    while (true) {
        auto one = api_get(*target, "/api/v1/rollouts/" + url_encode(id));
        if (!one) return refused(one.error());
        nlohmann::json shown = *one;
        if (!json) shown.erase("targets");  // the lists of failed, held and refused say what matters
        if (terminal && watch) std::printf("\033[H\033[2J");
        show(shown);
        std::fflush(stdout);
        const std::string state = field_text(*one, "state");
        if (!watch || is_final_state(state)) return state == "halted" ? 1 : 0;
        std::this_thread::sleep_for(std::chrono::seconds(kWatchSeconds));
    }
}

}  // namespace hisgate::cli
