#include "monitor-sim/vital_values.h"

#include <algorithm>
#include <cmath>

namespace hisgate::monitor_sim {

VitalValues::VitalValues(uint64_t seed, int bed_number) : rng_(seed * 1000003u + static_cast<uint64_t>(bed_number)) {
    // Each bed starts somewhere of its own, within normal ranges.
    std::uniform_real_distribution<double> jitter(-1.0, 1.0);
    hr_ += 10 * jitter(rng_);
    rr_ += 3 * jitter(rng_);
    sys_ += 10 * jitter(rng_);
    dia_ += 6 * jitter(rng_);
}

namespace {
double walk(std::mt19937_64& rng, double v, double step, double lo, double hi) {
    std::uniform_real_distribution<double> d(-step, step);
    return std::clamp(v + d(rng), lo, hi);
}
double round1(double v) { return std::round(v * 10) / 10; }
}  // namespace

std::vector<Observation> VitalValues::next() {
    hr_ = walk(rng_, hr_, 2, 40, 180);
    spo2_ = walk(rng_, spo2_, 0.5, 85, 100);
    rr_ = walk(rng_, rr_, 1, 6, 40);
    sys_ = walk(rng_, sys_, 2, 80, 200);
    dia_ = walk(rng_, dia_, 1.5, 40, std::min(sys_ - 20, 120.0));
    temp_ = walk(rng_, temp_, 0.05, 35, 40);
    double sys = std::round(sys_), dia = std::round(dia_);
    return {{kHeartRate, std::round(hr_)}, {kSpo2, std::round(spo2_)}, {kRespRate, std::round(rr_)},
            {kNibpSys, sys}, {kNibpDia, dia}, {kNibpMean, std::round((sys + 2 * dia) / 3)},
            {kTemperature, round1(temp_)}};
}

}  // namespace hisgate::monitor_sim
