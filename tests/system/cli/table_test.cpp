// The operator CLI's table cells (cli/table.h): display widths with Chinese names, cuts
// marked, control characters never reaching the terminal, any JSON value as text.
#include <catch2/catch.hpp>

#include "cli/table.h"

using hisgate::cli::column;
using hisgate::cli::field_text;

TEST_CASE("cli table: a column is exactly its display width, CJK counted as two") {
    CHECK(column("H001", 6) == "H001  ");
    CHECK(column("北京协和医院", 12) == "北京协和医院");
    CHECK(column("北京协和医院", 14) == "北京协和医院  ");
    // Cut: the "~" takes the last column; a wide glyph that does not fit leaves a space.
    CHECK(column("hospital.offline", 8) == "hospita~");
    CHECK(column("北京协和医院", 6) == "北京~ ");
    CHECK(column("", 3) == "   ");
    CHECK(column("abc", 0).empty());
    // A field cannot move the cursor or ring the bell.
    CHECK(column("a\x1b[2Jb\x07", 8) == "a[2Jb   ");
    // A malformed UTF-8 byte is one column, never a read past the end.
    CHECK(column(std::string("\xe5\x8c"), 4).size() == 4);
}

TEST_CASE("cli table: fields of an answer as text, whatever their type") {
    nlohmann::json o = {{"s", "x"}, {"n", 42}, {"b", true}, {"z", nullptr}, {"a", {1, 2}}};
    CHECK(field_text(o, "s") == "x");
    CHECK(field_text(o, "n") == "42");
    CHECK(field_text(o, "b") == "true");
    CHECK(field_text(o, "z").empty());
    CHECK(field_text(o, "missing").empty());
    CHECK(field_text(o, "a") == "[1,2]");
    CHECK(field_text(nlohmann::json::array(), "s").empty());
}
