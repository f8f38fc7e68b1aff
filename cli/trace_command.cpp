// `hisgate trace <trace-id> [--hospitals H1,H2]`: every log line that belongs to a trace,
// from every process that handled it, in time order with per-hop timings. By default from
// the control plane's API (cli/api_client.h), which gathers its own lines and each agent's
// over MQTT (agents sit behind one-way firewalls: controlplane/remote_diagnostics.h); with
// `--logs DIR`, from the JSON-lines log files in DIR (a one-machine setup such as the demo,
// where the simulated HIS's own log is there too).
//
// A HIS does not carry our trace context, so lines are linked by the id each message to
// the HIS carries (HL7 control id, REST/SOAP request id): any line in another process
// naming an id that a traced line also names belongs to the trace.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "common/trace_lines.h"

namespace hisgate::cli {

namespace {
// Microseconds since the epoch from "2026-11-21T12:00:00.123456Z"; -1 if malformed.
long long micros(const std::string& ts) {
    int y, mo, d, h, mi, s;
    long long frac = 0;
    char fracbuf[16] = {0};
    if (std::sscanf(ts.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9[0-9]", &y, &mo, &d, &h, &mi, &s, fracbuf) < 6) return -1;
    std::string f(fracbuf);
    f.resize(6, '0');
    frac = std::stoll(f);
    // days from civil (Howard Hinnant's algorithm)
    y -= mo <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60LL * 1000000 + s * 1000000LL + frac;
}

// The lines in time order with per-hop timings; `from` says where they came from.
void print_trace(const std::string& trace_id, const std::vector<nlohmann::json>& lines, const std::string& from,
                 bool truncated) {
    auto text = [](const nlohmann::json& l, const char* k) {
        auto it = l.find(k);
        return it != l.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    long long first = micros(text(lines.front(), "ts")), prev = first;
    std::string prev_proc;
    std::printf("trace %s: %zu lines from %s%s\n", trace_id.c_str(), lines.size(), from.c_str(),
                truncated ? " (cut at the size bound: the oldest or the latest lines are missing)" : "");
    std::printf("%-28s %10s %10s  %-24s %s\n", "time", "+ms", "hop ms", "process", "event");
    for (const auto& l : lines) {
        const std::string ts = text(l, "ts"), proc = text(l, "proc");
        long long t = micros(ts);
        nlohmann::json rest = l;
        for (auto key : {"ts", "proc", "event", "trace_id", "span_id", "level"}) rest.erase(key);
        std::string hop = proc != prev_proc && !prev_proc.empty() ? std::to_string((t - prev) / 1000.0) : "";
        if (hop.size() > 7) hop.resize(hop.find('.') + 3);
        char since[32];
        std::snprintf(since, sizeof since, "%.3f", (t - first) / 1000.0);
        std::printf("%-28s %10s %10s  %-24s %s %s\n", ts.c_str(), since, hop.c_str(), proc.c_str(),
                    text(l, "event").c_str(), rest.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        prev = t;
        prev_proc = proc;
    }
}

std::vector<std::string> log_files(const std::string& dir) {
    std::vector<std::string> files;
    if (DIR* d = opendir(dir.c_str())) {
        while (auto* e = readdir(d)) {
            std::string name = e->d_name;
            if (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) files.push_back(dir + "/" + name);
        }
        closedir(d);
    }
    std::sort(files.begin(), files.end());
    return files;
}


// The lines from the control plane's API: its own and each agent's, over MQTT.
int trace_remote(const std::string& trace_id, Args args, const std::string& hospitals) {
    auto target = api_target(args);
    if (!target) {
        std::fprintf(stderr, "hisgate trace: %s\n(or read local log files with --logs DIR)\n", target.error().message.c_str());
        return 2;
    }
    if (!args.empty()) {
        std::fprintf(stderr, "hisgate trace: unexpected argument '%s'\n", args[0].c_str());
        return 2;
    }
    auto got = api_get(*target, "/api/v1/traces/" + trace_id + (hospitals.empty() ? "" : "?hospitals=" + url_encode(hospitals)));
    if (!got) {
        std::fprintf(stderr, "hisgate trace: %s\n", got.error().describe().c_str());
        return 1;
    }
    std::vector<nlohmann::json> lines;
    if (got->contains("lines") && (*got)["lines"].is_array())
        for (const auto& l : (*got)["lines"]) lines.push_back(l);
    std::string from;
    bool truncated = false;
    if (got->contains("sources") && (*got)["sources"].is_array())
        for (const auto& src : (*got)["sources"]) {
            const std::string process = src.value("process", "?");
            from += (from.empty() ? "" : ", ") + process;
            truncated = truncated || src.value("truncated", false);
            if (src.contains("error") && src["error"].is_object())
                std::fprintf(stderr, "hisgate trace: %s did not answer: %s\n", process.c_str(),
                             src["error"].value("message", "").c_str());
        }
    if (lines.empty()) {
        std::fprintf(stderr, "hisgate trace: no log line carries trace %s (asked: %s)\n", trace_id.c_str(), from.c_str());
        return 1;
    }
    print_trace(trace_id, lines, from, truncated);
    return 0;
}
}  // namespace

int trace_main(const Args& given) {
    std::string trace_id, dir, hospitals;
    Args rest;  // for the API target: --url, --token-file
    for (size_t i = 0; i < given.size(); ++i) {
        if (given[i] == "--logs" && i + 1 < given.size()) dir = given[++i];
        else if (given[i] == "--hospitals" && i + 1 < given.size()) hospitals = given[++i];
        else if (trace_id.empty() && given[i].rfind("--", 0) != 0) trace_id = given[i];
        else rest.push_back(given[i]);
    }
    // Accept a whole traceparent too.
    if (trace_id.size() == 55 && trace_id[2] == '-') trace_id = trace_id.substr(3, 32);
    if (!valid_trace_id(trace_id)) {
        std::fprintf(stderr, "hisgate trace: expected a trace id of 32 lowercase hex digits, got '%s'\n",
                     trace_id.c_str());
        return 2;
    }
    if (dir.empty()) return trace_remote(trace_id, rest, hospitals);
    if (!rest.empty()) {
        std::fprintf(stderr, "hisgate trace: unexpected argument '%s' with --logs\n", rest[0].c_str());
        return 2;
    }
    auto files = log_files(dir);
    if (files.empty()) {
        std::fprintf(stderr, "hisgate trace: no *.log files in %s\n", dir.c_str());
        return 1;
    }
    auto found = trace_lines(files, trace_id);
    if (!found) {
        std::fprintf(stderr, "hisgate trace: %s\n", found.error().describe().c_str());
        return 1;
    }
    if (found->lines.empty()) {
        std::fprintf(stderr, "hisgate trace: no log line carries trace %s in %s\n", trace_id.c_str(), dir.c_str());
        return 1;
    }
    print_trace(trace_id, found->lines, std::to_string(found->files) + " files", found->truncated);
    return 0;
}

}  // namespace hisgate::cli
