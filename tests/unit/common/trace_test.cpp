#include <catch2/catch.hpp>

#include "common/trace.h"

using namespace hisgate;

TEST_CASE("trace: traceparent round-trips and children keep the trace id") {
    auto root = TraceContext::start();
    REQUIRE(root.trace_id.size() == 32);
    REQUIRE(root.span_id.size() == 16);
    auto parsed = TraceContext::parse(root.traceparent());
    REQUIRE(parsed);
    CHECK(parsed->trace_id == root.trace_id);
    CHECK(parsed->span_id == root.span_id);
    auto child = root.child();
    CHECK(child.trace_id == root.trace_id);
    CHECK(child.span_id != root.span_id);
}

TEST_CASE("trace: malformed traceparents are refused") {
    CHECK_FALSE(TraceContext::parse(""));
    CHECK_FALSE(TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"));
    CHECK_FALSE(TraceContext::parse("00-00000000000000000000000000000000-b7ad6b7169203331-01"));
    CHECK_FALSE(TraceContext::parse("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"));
    CHECK_FALSE(TraceContext::parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    CHECK(TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
}

TEST_CASE("trace: the current trace is per thread and scoped") {
    CHECK_FALSE(current_trace().valid());
    auto ctx = TraceContext::start();
    {
        ScopedTrace s(ctx);
        CHECK(current_trace().trace_id == ctx.trace_id);
    }
    CHECK_FALSE(current_trace().valid());
}
