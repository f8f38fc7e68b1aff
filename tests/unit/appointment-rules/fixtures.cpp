#include "fixtures.h"

#include <cstdlib>
#include <ctime>

namespace hisgate::appointments::test {

using namespace std::chrono;

uint64_t test_seed() {
    const char* env = std::getenv("HISGATE_SEED");
    return env && *env ? std::strtoull(env, nullptr, 10) : 20261128;
}

uint64_t Draw::next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int Draw::between(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }

bool Draw::chance(int percent) { return between(1, 100) <= percent; }

const std::vector<std::string>& test_zones() {
    static const std::vector<std::string> zones = {"Asia/Shanghai", "Europe/Berlin",  "America/New_York",
                                                   "Australia/Sydney", "Asia/Kolkata", "UTC"};
    return zones;
}

RuleSet rules(const nlohmann::json& rule_list, const std::string& zone) {
    auto set = RuleSet::from_params({{"rules", rule_list}, {"timezone", zone}}, "test.json");
    INFO("parameters: " << rule_list.dump());
    if (!set) FAIL(set.error().message);
    return std::move(*set);
}

std::string params_error(const nlohmann::json& section) {
    auto set = RuleSet::from_params(section, "h.json");
    INFO("section: " << section.dump());
    REQUIRE_FALSE(set.ok());
    CHECK(set.error().cls == ErrorClass::Config);
    CHECK(set.error().code == "appointment.invalid_rules");
    return set.error().message;
}

Date random_date(Draw& draw, Date around, int days_before, int days_after) {
    return add_days(around, draw.between(-days_before, days_after));
}

BookingRequest random_booking(Draw& draw) {
    BookingRequest b;
    // 2024-01-01 .. 2030-12-31, any second.
    auto first = sys_days{year{2024} / 1 / 1};
    b.requested_at = sys_seconds{first} + seconds{int64_t(draw.between(0, 7 * 365)) * 86400 + draw.between(0, 86399)};
    Slot& s = b.slot;
    s.doctor_id = "D" + std::to_string(draw.between(1, 5));
    s.department_id = draw.pick(std::vector<std::string>{"PED", "GYN", "INT", "SUR"});
    s.date = random_date(draw, Date{floor<days>(b.requested_at)}, 3, 21);
    if (draw.chance(70)) {
        int length = draw.pick(std::vector<int>{5, 10, 15, 20, 30, 60});
        int start = draw.between(0, (minutes_per_day - length) / 5) * 5;
        s.time = SlotTime{start, start + length};
    }
    s.half = draw.pick(std::vector<Half>{Half::none, Half::morning, Half::afternoon});
    s.visit = draw.chance(50) ? VisitKind::first : VisitKind::follow_up;
    s.fee = draw.chance(30) ? 0 : draw.between(1, 50) * 100;
    s.deposit = draw.chance(50) ? 0 : draw.between(1, 20) * 1000;
    Patient& p = b.patient;
    p.id = "P" + std::to_string(draw.between(1, 1000));
    p.birth_date = random_date(draw, year{1990} / 1 / 1, 365 * 60, 365 * 40);
    p.sex = draw.pick(std::vector<Sex>{Sex::female, Sex::male, Sex::unknown});
    p.real_name_verified = draw.chance(60);
    p.no_show_count = draw.between(0, 6);
    return b;
}

BookingCounts random_counts(Draw& draw) {
    BookingCounts c;
    c.doctor_day = draw.between(0, 40);
    c.department_day = draw.between(0, 40);
    c.patient_day = draw.between(0, 4);
    c.patient_department_day = draw.between(0, 3);
    c.first_visits_day = draw.between(0, 40);
    c.follow_ups_day = draw.between(0, 40);
    c.patient_holds_morning = draw.chance(30);
    c.patient_holds_afternoon = draw.chance(30);
    c.prepaid = draw.chance(50);
    c.deposit_paid = draw.chance(50) ? 0 : draw.between(0, 20) * 1000;
    return c;
}

namespace {

// glibc reads TZ; the test process is single-threaded, so swapping it is safe here.
class ScopedTz {
public:
    explicit ScopedTz(const std::string& zone) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        setenv("TZ", zone.c_str(), 1);
        tzset();
    }
    ~ScopedTz() {
        if (old_) setenv("TZ", old_->c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }

private:
    std::optional<std::string> old_;
};

Wall wall_of(time_t t) {
    tm out{};
    localtime_r(&t, &out);
    return Wall{Date{year{out.tm_year + 1900}, month{unsigned(out.tm_mon + 1)}, day{unsigned(out.tm_mday)}},
                out.tm_hour * 60 + out.tm_min};
}

}  // namespace

Wall wall_clock(const std::string& zone, sys_seconds t) {
    ScopedTz tz(zone);
    return wall_of(time_t(t.time_since_epoch().count()));
}

std::optional<sys_seconds> instant_of(const std::string& zone, Date d, int minute) {
    ScopedTz tz(zone);
    tm in{};
    in.tm_year = int(d.year()) - 1900;
    in.tm_mon = int(unsigned(d.month())) - 1;
    in.tm_mday = int(unsigned(d.day()));
    in.tm_hour = minute / 60;
    in.tm_min = minute % 60;
    in.tm_isdst = -1;
    time_t t = mktime(&in);
    auto same_wall = [&](time_t c) {
        Wall w = wall_of(c);
        return w.date == d && w.minute == minute;
    };
    if (!same_wall(t)) return std::nullopt;  // skipped by a jump forward
    for (time_t other : {t - 3600, t - 1800, t + 1800, t + 3600})
        if (same_wall(other)) return std::nullopt;  // occurs twice
    return sys_seconds{seconds{t}};
}

void require_refused_by(const std::optional<Refusal>& r, const std::string& rule) {
    REQUIRE(r.has_value());
    CHECK(r->rule == rule);
    CHECK(r->code.rfind(rule + ".", 0) == 0);
    // Plain words: no rule or field names, no placeholders.
    const std::string& m = r->message_for_patient;
    CHECK(m.size() > 20);
    CHECK(m.find('_') == std::string::npos);
    CHECK(m.find("null") == std::string::npos);
    CHECK(m.back() == '.');
}

std::string describe(const Trial& t) {
    const Slot& s = t.request.slot;
    const BookingCounts& c = t.counts;
    std::string out = "params " + t.params.dump() + ", zone " + t.zone + ", now " +
                      format_local(local_seconds{t.request.requested_at.time_since_epoch()}) + " UTC, slot " +
                      s.department_id + " " + format_date(s.date);
    if (s.time) out += " " + format_time_of_day(s.time->start) + "-" + format_time_of_day(s.time->end);
    out += " half " + std::to_string(int(s.half)) + " visit " + std::to_string(int(s.visit)) + " fee " +
           std::to_string(s.fee) + " deposit " + std::to_string(s.deposit);
    const Patient& p = t.request.patient;
    out += ", patient born " + format_date(p.birth_date) + " sex " + std::to_string(int(p.sex)) + " verified " +
           std::to_string(p.real_name_verified) + " no-shows " + std::to_string(p.no_show_count);
    out += ", counts doctor " + std::to_string(c.doctor_day) + " department " + std::to_string(c.department_day) +
           " patient " + std::to_string(c.patient_day) + "/" + std::to_string(c.patient_department_day) +
           " first " + std::to_string(c.first_visits_day) + " follow-up " + std::to_string(c.follow_ups_day) +
           " holds am/pm " + std::to_string(c.patient_holds_morning) + std::to_string(c.patient_holds_afternoon) +
           " prepaid " + std::to_string(c.prepaid) + " deposit paid " + std::to_string(c.deposit_paid);
    return out;
}

namespace {

template <class Check>
void property(Draw& draw, const std::string& rule, int trials, const std::function<nlohmann::json(Draw&)>& params,
              const Oracle& oracle, const Steer& steer, Check check) {
    Sides sides;
    for (int i = 0; i < trials; ++i) {
        Trial t{params(draw), draw.pick(test_zones()), random_booking(draw), random_counts(draw)};
        t.params["rule"] = rule;
        if (steer) steer(draw, t);
        std::optional<bool> expected = oracle(t);
        if (!expected) continue;
        INFO("trial " << i << ": " << describe(t));
        RuleSet set = rules(nlohmann::json::array({t.params}), t.zone);
        std::optional<Refusal> r = check(set, t);
        INFO("refusal: " << (r ? r->code + " " + r->message_for_patient : "none"));
        REQUIRE(r.has_value() == *expected);
        if (r) require_refused_by(r, rule);
        sides.saw(r.has_value());
    }
    INFO("refused " << sides.refused << ", accepted " << sides.accepted);
    CHECK(sides.both());
}

}  // namespace

void booking_property(Draw& draw, const std::string& rule, int trials,
                      const std::function<nlohmann::json(Draw&)>& params, const Oracle& oracle, const Steer& steer) {
    property(draw, rule, trials, params, oracle, steer,
             [](const RuleSet& set, const Trial& t) { return set.check_booking(t.request, t.counts); });
}

void cancellation_property(Draw& draw, const std::string& rule, int trials,
                           const std::function<nlohmann::json(Draw&)>& params, const Oracle& oracle,
                           const Steer& steer) {
    property(draw, rule, trials, params, oracle, steer, [](const RuleSet& set, const Trial& t) {
        return set.check_cancellation(CancellationRequest{t.request.slot, t.request.requested_at});
    });
}

}  // namespace hisgate::appointments::test
