// `hisgate partition split|rollback|status`: the operator side of the ledger's live
// partition split (docs/ledger.md, "Live partition split"; the routes in
// controlplane/money/partition_api.h).
//
//   hisgate partition split south --into south-a,south-b --by province=44,45 [--max-freeze-ms N]
//       the listed provinces go to the first target, the rest of the source's to the second;
//       waits for the split to end (polling the status) and prints its freeze and the new epoch
//   hisgate partition rollback south    the source owns its provinces again
//   hisgate partition status [--json]   the map in use and the newest split
//
// Exit 0 on success, 1 when the API refused or the split aborted (its code and message
// printed) or the API could not be reached, 2 on bad arguments.
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"

namespace hisgate::cli {

namespace {
const char* kPartitionUsage = R"(usage: hisgate partition split <source> --into A,B --by province=P1,P2,... [--max-freeze-ms N]
                                 [--timeout-seconds N]
       hisgate partition rollback <source>
       hisgate partition status [--json]
       (each takes --url URL --token-file FILE --config FILE)
)";
constexpr auto kPoll = std::chrono::milliseconds(200);

std::vector<std::string> comma_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) out.push_back(item);
    return out;
}

int refused(const char* what, const Error& e) {
    std::fprintf(stderr, "hisgate partition %s: %s: %s\n", what, e.code.c_str(), e.message.c_str());
    return 1;
}

void print_status(const nlohmann::json& body) {
    std::printf("partition map epoch %s\n", field_text(body, "epoch").c_str());
    for (const auto& [name, provinces] : body["partitions"].items()) {
        std::string list;
        for (const auto& p : provinces) list += (list.empty() ? "" : ",") + p.get<std::string>();
        std::printf("  %s %s\n", column(name, 12).c_str(), list.c_str());
    }
    const auto& split = body["split"];
    if (split.is_null()) {
        std::printf("no split\n");
        return;
    }
    const auto& p = split["progress"];
    std::printf("split of %s: %s (step %s)", field_text(p, "source").c_str(), field_text(split, "state").c_str(),
                field_text(p, "step").c_str());
    if (p.contains("freezeMs")) std::printf(", freeze %s ms", field_text(p, "freezeMs").c_str());
    if (p.contains("toEpoch") && p["toEpoch"].is_number() && p["toEpoch"].get<int64_t>() > 0)
        std::printf(", epoch %s -> %s", field_text(p, "fromEpoch").c_str(), field_text(p, "toEpoch").c_str());
    if (p.contains("error")) std::printf("\n  error: %s", field_text(p, "error").c_str());
    std::printf("\n");
}

int split_main(const ApiTarget& target, const Args& args) {
    std::string source, into, by;
    int64_t max_freeze_ms = 0;
    int timeout_seconds = 600;
    auto usage = [](const std::string& why) {
        std::fprintf(stderr, "hisgate partition split: %s\n%s", why.c_str(), kPartitionUsage);
        return 2;
    };
    for (size_t i = 1; i < args.size(); ++i) {
        const auto& a = args[i];
        if (a == "--into" && i + 1 < args.size()) into = args[++i];
        else if (a == "--by" && i + 1 < args.size()) by = args[++i];
        else if (a == "--max-freeze-ms" && i + 1 < args.size()) {
            try {
                max_freeze_ms = std::stoll(args[++i]);
            } catch (const std::exception&) {
                return usage("--max-freeze-ms: a number of milliseconds");
            }
        } else if (a == "--timeout-seconds" && i + 1 < args.size()) {
            try {
                timeout_seconds = std::stoi(args[++i]);
            } catch (const std::exception&) {
                return usage("--timeout-seconds: a number");
            }
        } else if (source.empty() && !a.starts_with("-")) source = a;
        else return usage("unexpected argument '" + a + "'");
    }
    auto targets = comma_list(into);
    if (source.empty()) return usage("which partition? (hisgate partition split <source> ...)");
    if (targets.size() != 2) return usage("--into A,B: the two new partitions' names");
    if (!by.starts_with("province=") || comma_list(by.substr(9)).empty())
        return usage("--by province=P1,P2,...: the provinces that go to " + targets[0]);
    auto first = comma_list(by.substr(9));
    // The rest of the source's provinces go to the second target: read them from the map.
    auto status = api_get(target, "/api/v1/ledger/partitions");
    if (!status) return refused("split", status.error());
    const auto& held = (*status)["partitions"];
    if (!held.contains(source))
        return refused("split", make_error(ErrorClass::BadInput, "split.bad_plan",
                                           "partition " + source + " is not in the map of epoch " + field_text(*status, "epoch")));
    std::set<std::string> listed(first.begin(), first.end()), rest;
    for (const auto& p : held[source]) {
        auto code = p.get<std::string>();
        if (!listed.contains(code)) rest.insert(code);
    }
    nlohmann::json body{{"source", source},
                        {"targets", {{{"name", targets[0]}, {"provinces", listed}}, {{"name", targets[1]}, {"provinces", rest}}}}};
    if (max_freeze_ms > 0) body["maxFreezeMs"] = max_freeze_ms;
    auto started = api_post_json(target, "/api/v1/ledger/partitions/split", body);
    if (!started) return refused("split", started.error());
    std::printf("split of %s into %s (%zu provinces) and %s (%zu) started at map epoch %s\n", source.c_str(),
                targets[0].c_str(), listed.size(), targets[1].c_str(), rest.size(),
                field_text(*started, "fromEpoch").c_str());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(kPoll);
        auto now = api_get(target, "/api/v1/ledger/partitions");
        if (!now) return refused("split", now.error());
        const auto& split = (*now)["split"];
        if (split.is_null() || field_text(split["progress"], "source") != source) continue;
        std::string state = field_text(split, "state");
        if (state == "running") continue;
        const auto& p = split["progress"];
        if (state == "switched") {
            std::printf("switched: writes to %s were frozen %s ms; the partition map is at epoch %s\n", source.c_str(),
                        field_text(p, "freezeMs").c_str(), field_text(p, "toEpoch").c_str());
            return 0;
        }
        std::fprintf(stderr, "hisgate partition split: the split %s: %s\n", state.c_str(), field_text(p, "error").c_str());
        return 1;
    }
    std::fprintf(stderr, "hisgate partition split: still running after %d s (hisgate partition status)\n", timeout_seconds);
    return 1;
}

}  // namespace

int partition_main(const Args& given) {
    Args args = given;
    for (const auto& a : args)
        if (a == "--help" || a == "-h") {
            std::printf("%s", kPartitionUsage);
            return 0;
        }
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate partition: %s\n%s", target.error().message.c_str(), kPartitionUsage);
        return 2;
    }
    if (args.empty()) {
        std::fprintf(stderr, "hisgate partition: split, rollback or status?\n%s", kPartitionUsage);
        return 2;
    }
    const std::string sub = args[0];
    if (sub == "split") return split_main(*target, args);
    if (sub == "rollback") {
        if (args.size() != 2 || args[1].starts_with("-")) {
            std::fprintf(stderr, "hisgate partition rollback: which partition?\n%s", kPartitionUsage);
            return 2;
        }
        auto done = api_post_json(*target, "/api/v1/ledger/partitions/rollback", {{"source", args[1]}});
        if (!done) return refused("rollback", done.error());
        std::printf("rolled back: %s owns its provinces again at map epoch %s (targets frozen %s ms, %s entries streamed back)\n",
                    args[1].c_str(), field_text(*done, "toEpoch").c_str(), field_text(*done, "rollbackFreezeMs").c_str(),
                    field_text(*done, "streamedBack").c_str());
        return 0;
    }
    if (sub == "status") {
        bool json = false;
        for (size_t i = 1; i < args.size(); ++i) {
            if (args[i] == "--json") json = true;
            else {
                std::fprintf(stderr, "hisgate partition status: unexpected argument '%s'\n%s", args[i].c_str(), kPartitionUsage);
                return 2;
            }
        }
        auto status = api_get(*target, "/api/v1/ledger/partitions");
        if (!status) return refused("status", status.error());
        if (json) std::printf("%s\n", status->dump(2).c_str());
        else print_status(*status);
        return 0;
    }
    std::fprintf(stderr, "hisgate partition: unknown subcommand '%s'\n%s", sub.c_str(), kPartitionUsage);
    return 2;
}

}  // namespace hisgate::cli
