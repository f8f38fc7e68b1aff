// docs/params.md rendering: every field shown, and catalog text that Markdown would
// misread (pipes in tables, '<' opening HTML tags) kept as written.
#include <catch2/catch.hpp>

#include "config-params/markdown.h"
#include "support.h"

TEST_CASE("markdown shows every field and escapes what Markdown would misread") {
    auto catalog = params_test::catalog(R"(
        {"name": "x.mode", "type": "string", "default": "a", "pattern": "^(a|b)$", "doc": "Pick <one> mode.",
         "notes": "Values are a|b.", "since": "0.3.0", "readers": ["r1", "r2"], "meaning_version": 2},
        {"name": "x.n", "type": "int", "required": true, "min": 1, "max": 9, "unit": "tries",
         "doc": "n", "since": "0.2.0", "readers": ["r"]})");
    std::string md = hisgate::params::render_markdown(catalog);
    CHECK(md.find("- [test](#test): [`x.mode`](#xmode) [`x.n`](#xn)\n") != std::string::npos);
    CHECK(md.find("\n## test\n\n### `x.mode`\n\nPick &lt;one> mode.\n\n| field | value |\n|---|---|\n"
                  "| type | `string` |\n| default | `\"a\"` |\n| pattern | `^(a\\|b)$` |\n"
                  "| accepts | a string matching /^(a\\|b)$/ |\n| since | 0.3.0 |\n| read by | `r1`, `r2` |\n"
                  "| meaning version | 2 |\n\nValues are a|b.\n\n### `x.n`\n") != std::string::npos);
    CHECK(md.find("| required | yes |\n| min | `1` |\n| max | `9` |\n| unit | tries |\n"
                  "| accepts | an integer from 1 to 9 (tries) |\n") != std::string::npos);
    CHECK(md.substr(md.size() - 2) == "|\n");
}
