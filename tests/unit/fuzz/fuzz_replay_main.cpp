// Runs a libFuzzer target (fuzz/<name>_fuzz.cpp) in a build without libFuzzer: each of its
// committed seeds as it is, then N seeded mutations of them (tests/support/mutation.h),
// through the target's own LLVMFuzzerTestOneInput and the properties it checks (FUZZ_CHECK
// aborts).
//
// Why: the control plane's targets (state, answer, api) link the whole control-plane
// library, and a clean clone's suite building it a second time with clang, ASan and
// coverage for a 6 s libFuzzer run each cost about 740 of the fuzz tree's 1,083
// compile-seconds (docs/fuzzing.md). scripts/test builds the fuzz tree for the edge's targets
// only; these run here, in every build, with the targets' checks but with neither coverage
// guidance nor sanitizers. The full libFuzzer runs stay a command away (docs/fuzzing.md).
//
//   <name>_replay SEED_DIR [--mutations N] [--seed S] [--only I]
//
// Input I < (number of seeds) is seed I (files in name order); input I past them is a mutation
// drawn from (S, I) alone, so `--seed S --only I` replays one failing input by itself. A
// failure (a property the target checks, a crash) prints the input's number and the seed
// before the process dies.
#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "tests/support/mutation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace {

// JSON, HTTP and topic syntax, and numbers at the edges of what parsers accept.
// (A NUL is among them: the targets split an input's messages at NUL bytes.)
constexpr char kReplayInterestingBytes[] = "{}[]\":,\\/\r\n \t\0%+-.eE019\xff\xc3\xa9";
constexpr std::string_view kReplayInteresting(kReplayInterestingBytes, sizeof kReplayInterestingBytes - 1);

volatile std::sig_atomic_t g_replay_input = -1;
std::uint64_t g_replay_seed = 0;

void replay_put(const char* s) { (void)!write(2, s, std::strlen(s)); }

void replay_put_number(std::uint64_t n) {
    char digits[24];
    int i = sizeof digits;
    digits[--i] = '\0';
    do {
        digits[--i] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0 && i > 0);
    replay_put(digits + i);
}

// Async-signal-safe: names the input that failed, then dies of the same signal.
void replay_on_fatal(int sig) {
    replay_put("fuzz replay: input ");
    replay_put_number(static_cast<std::uint64_t>(g_replay_input));
    replay_put(" failed; replay it alone with --seed ");
    replay_put_number(g_replay_seed);
    replay_put(" --only ");
    replay_put_number(static_cast<std::uint64_t>(g_replay_input));
    replay_put("\n");
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

std::vector<std::string> replay_read_seeds(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<std::string> seeds;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return seeds;
}

std::string replay_input(const std::vector<std::string>& seeds, std::uint64_t seed, std::size_t index) {
    if (index < seeds.size()) return seeds[index];
    std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                           static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32)};
    std::mt19937_64 rng(sequence);
    return hisgate_test::mutated(seeds[rng() % seeds.size()], seeds, rng, kReplayInteresting);
}

int replay_usage(const char* why) {
    std::fprintf(stderr, "fuzz replay: %s\nusage: fuzz_replay SEED_DIR [--mutations N] [--seed S] [--only I]\n", why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return replay_usage("no seed directory");
    const std::filesystem::path dir = argv[1];
    std::size_t mutations = 1000;
    long long only = -1;
    for (int i = 2; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) return replay_usage(("a value is missing after " + flag).c_str());
        char* end = nullptr;
        const unsigned long long value = std::strtoull(argv[++i], &end, 10);
        if (end == nullptr || *end != '\0') return replay_usage(("not a number after " + flag).c_str());
        if (flag == "--mutations") mutations = value;
        else if (flag == "--seed") g_replay_seed = value;
        else if (flag == "--only") only = static_cast<long long>(value);
        else return replay_usage(("unknown option " + flag).c_str());
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return replay_usage(("not a directory: " + dir.string()).c_str());
    const std::vector<std::string> seeds = replay_read_seeds(dir);
    if (seeds.empty()) return replay_usage(("no seed files in " + dir.string()).c_str());

    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) std::signal(sig, replay_on_fatal);
    const std::size_t total = seeds.size() + mutations;
    const std::size_t first = only >= 0 ? static_cast<std::size_t>(only) : 0;
    const std::size_t last = only >= 0 ? first + 1 : total;
    for (std::size_t i = first; i < last; ++i) {
        g_replay_input = static_cast<std::sig_atomic_t>(i);
        const std::string input = replay_input(seeds, g_replay_seed, i);
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
    }
    std::printf("fuzz replay: inputs %zu to %zu of %zu seeds and %zu mutations (seed %llu) passed\n", first, last - 1,
                seeds.size(), mutations, static_cast<unsigned long long>(g_replay_seed));
    return 0;
}
