// Shared pieces of the appointment rules tests: the seed, a small deterministic PRNG,
// random bookings, and oracles for wall-clock time computed by glibc (mktime/localtime_r
// under TZ), independently of the engine's own TZif reader.
//
// Every property test starts with SEEDED(draw): the seed comes from HISGATE_SEED if set,
// else a fixed default, and is printed with any failure.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "appointment-rules/rule_set.h"

namespace hisgate::appointments::test {

uint64_t test_seed();

// splitmix64: tiny, and the same sequence on every platform and standard library.
class Draw {
public:
    explicit Draw(uint64_t seed) : state_(seed) {}
    uint64_t next();
    int between(int lo, int hi);  // inclusive
    bool chance(int percent);
    template <class T>
    const T& pick(const std::vector<T>& items) { return items[size_t(between(0, int(items.size()) - 1))]; }

private:
    uint64_t state_;
};

#define SEEDED(draw)                                                                        \
    const uint64_t seed_ = ::hisgate::appointments::test::test_seed();                     \
    INFO("seed " << seed_ << " (rerun with HISGATE_SEED=" << seed_ << ")");                \
    ::hisgate::appointments::test::Draw draw(seed_)

// Zones with and without daylight saving, both hemispheres, a half-hour offset.
const std::vector<std::string>& test_zones();

// A RuleSet from a "rules" array; REQUIREs that the parameters are valid.
RuleSet rules(const nlohmann::json& rule_list, const std::string& zone = "Asia/Shanghai");
// The error from_params gives for a whole appointment section; REQUIREs that it fails.
std::string params_error(const nlohmann::json& section);

// A random booking: "now" somewhere in 2024..2030 and a slot a few days before to a few
// weeks after it, random times, patient and money. Counts are random, 0..40.
BookingRequest random_booking(Draw& draw);
BookingCounts random_counts(Draw& draw);
Date random_date(Draw& draw, Date around, int days_before, int days_after);

// The hospital's wall clock at an instant, by glibc.
struct Wall {
    Date date;
    int minute;
};
Wall wall_clock(const std::string& zone, std::chrono::sys_seconds t);
// The instant a wall-clock time names, by glibc; nullopt when the time is skipped or
// occurs twice (the engine's choice there is tested separately).
std::optional<std::chrono::sys_seconds> instant_of(const std::string& zone, Date d, int minute);

// Counts how often each side of a property was seen, so a test proves it tried both.
struct Sides {
    int refused = 0, accepted = 0;
    void saw(bool was_refused) { ++(was_refused ? refused : accepted); }
    bool both() const { return refused > 0 && accepted > 0; }
};

// One random trial of a property: the rule's parameters, the hospital's zone, the request.
struct Trial {
    nlohmann::json params;  // one rule object
    std::string zone;
    BookingRequest request;
    BookingCounts counts;
};
std::string describe(const Trial& t);

// The property of one rule over `trials` random trials in random zones: the rule refuses
// exactly when `oracle` says so (an oracle may return nullopt to skip a trial it cannot
// judge). `steer` may move a trial towards the interesting boundary. Both sides must be
// seen. For cancellations the request's patient and counts are ignored.
using Oracle = std::function<std::optional<bool>(const Trial&)>;
using Steer = std::function<void(Draw&, Trial&)>;
void booking_property(Draw& draw, const std::string& rule, int trials,
                      const std::function<nlohmann::json(Draw&)>& params, const Oracle& oracle,
                      const Steer& steer = {});
void cancellation_property(Draw& draw, const std::string& rule, int trials,
                           const std::function<nlohmann::json(Draw&)>& params, const Oracle& oracle,
                           const Steer& steer = {});

// Checks that `r` is a refusal by `rule` whose message reads as plain words.
void require_refused_by(const std::optional<Refusal>& r, const std::string& rule);

}  // namespace hisgate::appointments::test
