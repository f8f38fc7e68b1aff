#include "controlplane/public_partition/replication_api.h"

#include "common/query_params.h"

namespace hisgate::controlplane::public_partition {

namespace {
constexpr char kBadQuery[] = "replication.bad_query";
constexpr size_t kMaxPageBytes = 8 * 1024 * 1024;
// How often a waiting stream request looks for new entries: another instance may have
// written them to the shared file, so a local signal would not be enough.
constexpr std::chrono::milliseconds kPollEvery{25};

Result<int64_t> integer(const std::map<std::string, std::string>& q, const char* name, int64_t fallback, int64_t min,
                        int64_t max) {
    auto it = q.find(name);
    if (it == q.end()) return fallback;
    const std::string& v = it->second;
    bool digits = !v.empty() && v.size() <= 16 && v.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoll(v) < min || std::stoll(v) > max)
        return bad_query(kBadQuery, name, "an integer from " + std::to_string(min) + " to " + std::to_string(max), v);
    return std::stoll(v);
}
}  // namespace

Result<StreamQuery> parse_stream_query(const std::string& raw_query) {
    auto q = read_query(raw_query, kBadQuery, 256, {"after", "wait_ms", "max"});
    if (!q) return q.error();
    if (!q->count("after")) return bad_query(kBadQuery, "after", "the position the replica holds (0 for none)", "");
    StreamQuery out;
    auto after = integer(*q, "after", 0, 0, int64_t{1} << 53);
    if (!after) return after.error();
    auto wait = integer(*q, "wait_ms", 10000, 0, 30000);
    if (!wait) return wait.error();
    auto max = integer(*q, "max", 1000, 1, 5000);
    if (!max) return max.error();
    out.after = *after;
    out.wait = std::chrono::milliseconds(*wait);
    out.max_entries = static_cast<size_t>(*max);
    return out;
}

Result<std::string> stream_page(PublicPrimary& primary, const StreamQuery& q, Clock& clock) {
    const auto deadline = clock.steady_now() + q.wait;
    for (;;) {
        auto entries = primary.stream_after(q.after, q.max_entries, kMaxPageBytes);
        if (!entries) return entries.error();
        if (!entries->empty() || clock.steady_now() >= deadline) {
            auto head = primary.head();
            if (!head) return head.error();
            nlohmann::json envelope = {{"head", {{"pos", head->pos}, {"checksum", checksum_text(head->checksum)},
                                                 {"atMs", head->at_ms}, {"oldest", head->oldest}}},
                                       {"nowMs", clock.wall_ms()}};
            std::string text = envelope.dump();
            text.pop_back();  // the closing brace: the entries go in as stored
            text += ",\"entries\":[";
            for (size_t i = 0; i < entries->size(); ++i) {
                if (i) text += ',';
                text += (*entries)[i];
            }
            text += "]}";
            return text;
        }
        clock.sleep_for(kPollEvery);
    }
}

}  // namespace hisgate::controlplane::public_partition
