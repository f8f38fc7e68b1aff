// main() of every test executable: Catch's runner, then the directories the test support
// library made (make_temp_dir, tests/support/process.h) removed when every case passed, kept
// and named when one failed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

// Defined in tests/support/process.cpp; null where the executable does not link it.
extern "C" __attribute__((weak)) void hisgate_test_temp_dirs_finish(bool passed);

int main(int argc, char** argv) {
    const int failed = Catch::Session().run(argc, argv);
    if (hisgate_test_temp_dirs_finish) hisgate_test_temp_dirs_finish(failed == 0);
    return failed;
}
