// The target that builds the tests' shared precompiled header (tests/CMakeLists.txt,
// hisgate_test_headers); a precompiled header needs a target of its own to be built by.
