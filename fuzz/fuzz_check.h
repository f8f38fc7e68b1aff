// A property a fuzz target checks on every input: when it fails, the condition and line go
// to stderr and the process aborts, so libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                          \
    do {                                                                                               \
        if (!(condition)) {                                                                            \
            std::fprintf(stderr, "property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__);    \
            std::abort();                                                                              \
        }                                                                                              \
    } while (0)
