// `hisgate trace <trace-id>`: collects every log line that belongs to a trace from the
// JSON-lines logs of all processes, and prints them in time order with per-hop timings.
//
// A HIS does not carry our trace context, so lines are linked by the id each message to
// the HIS carries (HL7 control id, REST/SOAP request id): any line in another process
// naming an id that a traced line also names belongs to the trace.
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "cli/commands.h"

namespace hisgate::cli {

namespace {
struct Line {
    std::string ts, proc, event;
    nlohmann::json doc;
};

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
}  // namespace

int trace_main(const Args& args) {
    std::string trace_id, dir = "run/logs";
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--logs" && i + 1 < args.size()) dir = args[++i];
        else if (trace_id.empty() && args[i].rfind("--", 0) != 0) trace_id = args[i];
        else {
            std::fprintf(stderr, "hisgate trace: unexpected argument '%s'\n", args[i].c_str());
            return 2;
        }
    }
    // Accept a whole traceparent too.
    if (trace_id.size() == 55 && trace_id[2] == '-') trace_id = trace_id.substr(3, 32);
    if (trace_id.size() != 32 || trace_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
        std::fprintf(stderr, "hisgate trace: expected a trace id of 32 lowercase hex digits, got '%s'\n",
                     trace_id.c_str());
        return 2;
    }
    auto files = log_files(dir);
    if (files.empty()) {
        std::fprintf(stderr, "hisgate trace: no *.log files in %s (use --logs DIR)\n", dir.c_str());
        return 1;
    }

    std::vector<Line> all;
    for (const auto& file : files) {
        std::ifstream in(file);
        std::string text;
        while (std::getline(in, text)) {
            auto doc = nlohmann::json::parse(text, nullptr, false);
            if (doc.is_discarded() || !doc.is_object()) continue;  // not ours, or a torn last line
            all.push_back({doc.value("ts", ""), doc.value("proc", ""), doc.value("event", ""), std::move(doc)});
        }
    }
    static constexpr const char* kLinkFields[] = {"hl7_control_id", "his_request_id"};
    std::set<std::string> link_ids;
    for (const auto& l : all)
        if (l.doc.value("trace_id", "") == trace_id)
            for (const char* field : kLinkFields)
                if (l.doc.contains(field)) link_ids.insert(l.doc.value(field, ""));
    auto linked = [&](const Line& l) {
        for (const char* field : kLinkFields)
            if (l.doc.contains(field) && link_ids.count(l.doc.value(field, ""))) return true;
        return false;
    };
    std::vector<const Line*> picked;
    for (const auto& l : all)
        if (l.doc.value("trace_id", "") == trace_id || linked(l)) picked.push_back(&l);
    if (picked.empty()) {
        std::fprintf(stderr, "hisgate trace: no log line carries trace %s in %s\n", trace_id.c_str(), dir.c_str());
        return 1;
    }
    std::stable_sort(picked.begin(), picked.end(), [](const Line* a, const Line* b) { return a->ts < b->ts; });

    long long first = micros(picked.front()->ts), prev = first;
    std::string prev_proc;
    std::printf("trace %s: %zu lines from %zu files\n", trace_id.c_str(), picked.size(), files.size());
    std::printf("%-28s %10s %10s  %-24s %s\n", "time", "+ms", "hop ms", "process", "event");
    for (const Line* l : picked) {
        long long t = micros(l->ts);
        nlohmann::json rest = l->doc;
        for (auto key : {"ts", "proc", "event", "trace_id", "span_id", "level"}) rest.erase(key);
        std::string hop = l->proc != prev_proc && !prev_proc.empty() ? std::to_string((t - prev) / 1000.0) : "";
        if (hop.size() > 7) hop.resize(hop.find('.') + 3);
        char since[32];
        std::snprintf(since, sizeof since, "%.3f", (t - first) / 1000.0);
        std::printf("%-28s %10s %10s  %-24s %s %s\n", l->ts.c_str(), since, hop.c_str(), l->proc.c_str(),
                    l->event.c_str(), rest.dump().c_str());
        prev = t;
        prev_proc = l->proc;
    }
    return 0;
}

}  // namespace hisgate::cli
