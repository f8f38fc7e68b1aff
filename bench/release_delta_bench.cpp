// Delta size against full for release packages (issue 16; docs/benchmarks.md, "Release
// deltas"). The packages are made by libs/release exactly as `hisgate release build` makes
// them: the HGPKG1 archive of an install tree, zstd at the given level, deltas with the
// base's content as prefix.
//
//   release_delta_bench --agent build/agent/hisgate-agent [--old-agent OLD] [--level 19]
//
// A patch release: the agent binary and a copy whose version stamp is patched: the
// NUL-delimited string that common/version.h returns, same length (the catalog's "since"
// fields hold the version too and stay as they are, as they would in a patch release). Five versions back: --old-agent,
// the agent built from an older commit (docs/benchmarks.md says which), to the new one.
// Each delta is applied and checked against the content, and the time of each step printed.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/digest.h"
#include "common/version.h"
#include "release/package.h"

using namespace hisgate;
using namespace hisgate::release;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string content_of(const std::string& binary) {
    return pack({{"bin/hisgate-agent", true, binary}, {"etc/agent.example.json", false, "{\"hospital\": \"H001\"}\n"}}).value();
}

// Replaces every occurrence of `from` with `to` (same length); returns how many.
int patch_stamp(std::string& bytes, const std::string& from, const std::string& to) {
    int n = 0;
    for (size_t at = bytes.find(from); at != std::string::npos; at = bytes.find(from, at + from.size())) {
        bytes.replace(at, from.size(), to);
        ++n;
    }
    return n;
}

void measure(const char* label, const std::string& base, const std::string& next, int level) {
    auto t0 = Clock::now();
    std::string full = compress_full(next, level).value();
    double full_s = seconds_since(t0);
    t0 = Clock::now();
    std::string delta = make_delta(base, next, level).value();
    double delta_s = seconds_since(t0);
    t0 = Clock::now();
    auto applied = apply_delta(delta, base, next.size());
    double apply_s = seconds_since(t0);
    bool ok = applied.ok() && sha256_hex(*applied) == sha256_hex(next);
    std::printf("%s: content %zu bytes, full %zu bytes (%.2f s), delta %zu bytes (%.2f%% of full, %.2f s), applied in %.2f s: %s\n",
                label, next.size(), full.size(), full_s, delta.size(), 100.0 * static_cast<double>(delta.size()) /
                static_cast<double>(full.size()), delta_s, apply_s, ok ? "content matches" : "MISMATCH");
}

}  // namespace

int main(int argc, char** argv) {
    std::string agent, old_agent;
    int level = kDefaultLevel;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--agent")) agent = argv[i + 1];
        else if (!std::strcmp(argv[i], "--old-agent")) old_agent = argv[i + 1];
        else if (!std::strcmp(argv[i], "--level")) level = std::atoi(argv[i + 1]);
    }
    if (agent.empty()) {
        std::fprintf(stderr, "usage: release_delta_bench --agent PATH [--old-agent PATH] [--level N]\n");
        return 2;
    }
    auto binary = read_file_bounded(agent, kMaxContentBytes);
    if (!binary) {
        std::fprintf(stderr, "%s\n", binary.error().describe().c_str());
        return 1;
    }
    std::string version(hisgate::version());
    std::string next_version = version;
    next_version.back() = next_version.back() == '9' ? '8' : static_cast<char>(next_version.back() + 1);
    std::string patched = *binary;
    using namespace std::string_literals;
    int stamps = patch_stamp(patched, "\0"s + version + "\0"s, "\0"s + next_version + "\0"s);
    std::printf("agent %s: %zu bytes; level %d; patch release %s -> %s (%d version stamps patched)\n", agent.c_str(),
                binary->size(), level, version.c_str(), next_version.c_str(), stamps);
    measure("patch release", content_of(*binary), content_of(patched), level);
    if (!old_agent.empty()) {
        auto old_binary = read_file_bounded(old_agent, kMaxContentBytes);
        if (!old_binary) {
            std::fprintf(stderr, "%s\n", old_binary.error().describe().c_str());
            return 1;
        }
        std::printf("old agent %s: %zu bytes\n", old_agent.c_str(), old_binary->size());
        measure("five versions back", content_of(*old_binary), content_of(*binary), level);
    }
    return 0;
}
