// bench/vitals_ward_bench, small and short (20 beds, 2 s): every sample and alarm the
// simulated monitors sent reaches the agent's store, the control plane's store and the
// ward feed, each once. Its latencies and CPU are not checked: the suite runs beside other
// work, and timing belongs to docs/benchmarks.md.
#include <catch2/catch.hpp>

#include <sstream>

#include "tests/support/process.h"

using namespace hisgate;
using namespace std::chrono_literals;

namespace {
// The whitespace-separated words of the output's line starting with `prefix`.
std::vector<std::string> row(const std::string& out, const std::string& prefix) {
    auto at = out.find(prefix);
    if (at == std::string::npos) return {};
    std::istringstream line(out.substr(at, out.find('\n', at) - at));
    std::vector<std::string> words;
    for (std::string w; line >> w;) words.push_back(w);
    return words;
}
// The word after `name` in `words` ("" if none).
std::string after(const std::vector<std::string>& words, const std::string& name) {
    for (std::size_t i = 0; i + 1 < words.size(); ++i)
        if (words[i] == name) return words[i + 1];
    return "";
}
}  // namespace

TEST_CASE("bench smoke: vitals_ward_bench loses no sample or alarm between 20 monitors and the ward feed") {
    std::string dir = test::make_temp_dir("bench-smoke");
    test::Process bench({test::binary("bench/vitals_ward_bench"), "--beds", "20", "--seconds", "2", "--warmup", "0",
                         "--alarm-every", "2", "--plain"},
                        dir + "/bench.out");
    REQUIRE(bench.start());
    int status = bench.wait_exit(120s);
    std::string out = bench.output();
    INFO(out);
    CHECK(status == 0);  // the system came up, every monitor connected, the feed held
    auto samples = row(out, "RESULT vitals_loss samples ");
    REQUIRE(!samples.empty());
    const std::string sent = after(samples, "sent");
    CHECK(std::stoll(sent) >= 20 * 7);
    CHECK(after(samples, "agent_stored") == sent);
    CHECK(after(samples, "cp_stored") == sent);
    CHECK(after(samples, "feed_seen") == sent);
    auto alarms = row(out, "RESULT vitals_loss alarms ");
    REQUIRE(!alarms.empty());
    const std::string sent_alarms = after(alarms, "sent");
    CHECK(std::stoll(sent_alarms) >= 20);
    CHECK(after(alarms, "agent_stored") == sent_alarms);
    CHECK(after(alarms, "cp_stored") == sent_alarms);
    CHECK(after(alarms, "feed_raised") == sent_alarms);
    std::system(("rm -rf " + dir).c_str());
}
