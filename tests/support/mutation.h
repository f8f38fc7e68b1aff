// Seeded byte mutations, as a fuzzer makes them, for the suites that run inputs through code
// without libFuzzer (the HL7 tests' mutation loops, tests/unit/fuzz/fuzz_replay_main.cpp).
// The same Rng state gives the same edits, so a printed seed replays a failing input exactly.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hisgate_test {

// `s` after 1 to 8 random edits: overwrite a byte with a random one or with one of
// `interesting` (the delimiters and escapes of the format under test), erase up to 16 bytes,
// or insert the head (up to 64 bytes) of one of `seeds`. `seeds` must not be empty.
template <class Rng>
std::string mutated(std::string s, const std::vector<std::string>& seeds, Rng& rng, std::string_view interesting) {
    int edits = 1 + rng() % 8;
    for (int e = 0; e < edits && !s.empty(); ++e) {
        std::size_t at = rng() % s.size();
        switch (rng() % 4) {
            case 0: s[at] = static_cast<char>(rng()); break;
            case 1: s[at] = interesting[rng() % interesting.size()]; break;
            case 2: s.erase(at, 1 + rng() % 16); break;
            case 3: s.insert(at, seeds[rng() % seeds.size()].substr(0, 1 + rng() % 64)); break;
        }
    }
    return s;
}

}  // namespace hisgate_test
