// Closes the public primary's gaps by asking the agents (issue 14 item 1): for a hospital
// whose change sets [seq + 1, highest] are missing, first the range (`reference.changesets`,
// answered from the agent's history, possibly in several pieces), and when the agent no
// longer keeps it (`reference.range_gone`) or the range does not close the gap, the whole
// snapshot (`reference.snapshot`). Both requests change nothing at a HIS and are safe to
// repeat; what they bring goes through PublicPrimary::apply / apply_snapshot like any
// change set, so a repeat or a race with the live stream is harmless.
//
// The snapshot comes in pages (`snapshot_page_bytes` each, at most `max_snapshot_pages`),
// each read by the agent at once, but the agent commits change sets between pages: page i
// is the state after change set s_i, s_first <= ... <= s_last. The pages are assembled here,
// then the change sets s_first + 1 .. s_last are asked for and replayed over them in order.
// A change set holds whole records (an upsert replaces, a delete removes), so replaying one
// that a page already reflects puts back an older value that a later change set in the
// replay, or the page itself, supersedes: every key ends as its last change up to s_last
// left it, or, untouched since s_first, as its page read it. The result is exactly the
// state after s_last, and only then is it installed, as one apply_snapshot: until then the
// primary holds what it held (the hospital suspect while its gap is open), and a repair
// that fails half-way (too many pages, the agent gone, the range no longer kept) installs
// nothing and is tried again later.
//
// A hospital online that the primary has never heard of (its first change sets were
// published before any instance subscribed) is asked for its snapshot the same way.
//
// A hospital that cannot be asked (offline, timed out, a refusal) is tried again after a
// backoff that doubles from `first_retry` to `max_retry`. The repair runs on a thread of
// its own, a round every `interval`, and at once on poke() (a new gap). Time is the Clock's.
//
// It knows no transport: `Ask` sends a request type and body to a hospital's agent and
// returns the answer's body (the control plane wires it to its Router).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "controlplane/public_partition/public_primary.h"

namespace hisgate::controlplane::public_partition {

struct RepairSettings {
    std::chrono::milliseconds interval{10000};
    std::chrono::milliseconds first_retry{5000};
    std::chrono::milliseconds max_retry{300000};
    int max_pieces = 50;  // range answers per repair before falling back to a snapshot
    // A snapshot page's size as asked of the agent (its body.max_bytes: 1 KiB to 3 MiB), and
    // the pages one repair reads at most: together, what a snapshot may cost in memory here.
    int64_t snapshot_page_bytes = 256 * 1024;
    int max_snapshot_pages = 400;
};

class GapRepair {
public:
    using Ask = std::function<Result<nlohmann::json>(const std::string& hospital_id, const std::string& type,
                                                     const nlohmann::json& body)>;

    GapRepair(PublicPrimary& primary, Ask ask, Clock& clock, RepairSettings settings = {});
    ~GapRepair();  // stops
    GapRepair(const GapRepair&) = delete;
    GapRepair& operator=(const GapRepair&) = delete;

    // The hospitals whose agents are online now: one the primary never heard of is repaired
    // by its snapshot. Set before start().
    void watch_online(std::function<std::vector<std::string>()> online) { online_ = std::move(online); }

    void start();
    void stop();
    void poke();  // a gap opened: repair now rather than at the next round

    // One round now, on the caller's thread: every gap whose retry time has come.
    // Returns how many hospitals it closed.
    int repair_round();
    // Repairs one hospital's gap; the error says why it stays open.
    Result<void> repair(const HospitalGap& gap);

private:
    Result<bool> by_range(const HospitalGap& gap);  // true when it closed the gap
    Result<void> by_snapshot(const std::string& hospital_id);
    // Asks the change sets [from, to] piece by piece (at most max_pieces answers) and hands
    // each, checked and in seq order, to `each`. Returns the last seq handed (from - 1 when
    // none): the agent may hold fewer than asked.
    Result<int64_t> fetch_changesets(const std::string& hospital_id, int64_t from, int64_t to,
                                     const std::function<Result<void>(const ChangeSet&)>& each);
    void run();

    PublicPrimary& primary_;
    Ask ask_;
    std::function<std::vector<std::string>()> online_;
    Clock& clock_;
    RepairSettings settings_;

    struct Backoff {
        Clock::SteadyTime next{};
        std::chrono::milliseconds wait{0};
    };
    std::map<std::string, Backoff> backoff_;  // only the repair thread (or repair_round's caller) touches it

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool poked_ = false;
    std::thread thread_;
};

// Takes one reference.changeset event's body from `hospital_id` into the primary: refused
// whole when malformed (logged with the reason, counted in
// hisgate_public_changesets_total{outcome="refused"}), applied or held otherwise; a held one
// pokes `repair` (may be null).
void take_changeset(PublicPrimary& primary, GapRepair* repair, const std::string& hospital_id,
                    const nlohmann::json& body);

}  // namespace hisgate::controlplane::public_partition
