// The values a simulated monitor reports, from a seed: the same seed and bed give the same
// sequence of readings, so a test can tell what the gateway must have stored.
//
// Each reading is a small random walk around a plausible adult value, clamped to a
// physiological range, so consecutive samples look like a patient rather than noise.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace hisgate::monitor_sim {

// One numeric observation as the monitor codes it (OBX-3-1) with its value.
struct Observation {
    std::string code;  // the device's own code: "52" heart rate, "51" SpO2, ... (docs/monitor-sim.md)
    double value = 0;
};

class VitalValues {
public:
    VitalValues(uint64_t seed, int bed_number);
    // The next reading: heart rate, SpO2, respiration, NIBP sys/dia/mean, temperature.
    std::vector<Observation> next();

private:
    std::mt19937_64 rng_;
    double hr_ = 75, spo2_ = 97, rr_ = 16, sys_ = 120, dia_ = 80, temp_ = 36.8;
};

// The device codes the simulated monitors use (the gateway's default vitals.codes).
inline constexpr const char* kHeartRate = "52";
inline constexpr const char* kSpo2 = "51";
inline constexpr const char* kRespRate = "151";
inline constexpr const char* kNibpSys = "170";
inline constexpr const char* kNibpDia = "171";
inline constexpr const char* kNibpMean = "172";
inline constexpr const char* kTemperature = "200";

}  // namespace hisgate::monitor_sim
