// main() of the conformance suites that read the external HL7 corpus (hl7_corpus.h): when
// the corpus is absent, each case exits 77, which CTest reports as skipped, by the case's
// name, and says where it looked. Listing the cases (CTest's discovery) works either way.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <iostream>

#include "tests/support/hl7_corpus.h"

int main(int argc, char** argv) {
    Catch::Session session;
    if (int status = session.applyCommandLine(argc, argv); status != 0) return status;
    const Catch::ConfigData& c = session.configData();
    bool listing = c.listTests || c.listTestNamesOnly || c.listTags || c.listReporters || c.showHelp;
    if (!listing && !hisgate::testing::hl7_corpus()) {
        std::cout << "SKIPPED: no HL7 corpus at " << hisgate::testing::hl7_corpus_path().string()
                  << " (set HISGATE_HL7_CORPUS to run this conformance suite)\n";
        return 77;
    }
    return session.run();
}
