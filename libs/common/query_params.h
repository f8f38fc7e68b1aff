// The query string of an API request, read within bounds before anything else is done with
// it: at most `max_bytes`, well-formed percent-encoding, each name one the route knows and
// given at most once. Errors are BadInput `code` ("fleet.bad_query", ...) naming the
// parameter, what was expected and (the first 64 bytes of) what came.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"

namespace hisgate {

Error bad_query(const char* code, const std::string& name, const std::string& expected, const std::string& found);

// Name -> value.
Result<std::map<std::string, std::string>> read_query(const std::string& raw_query, const char* code,
                                                      std::size_t max_bytes, std::initializer_list<const char*> names);
// The same, for a route whose names are a table's (one per kind of a search).
Result<std::map<std::string, std::string>> read_query(const std::string& raw_query, const char* code,
                                                      std::size_t max_bytes, const std::vector<const char*>& names);

// The integer parameter `name` of `given`, from `min` to `max` (at most 9 digits), or
// `fallback` when it is absent.
Result<int> query_int(const std::map<std::string, std::string>& given, const char* code, const std::string& name,
                      int min, int max, int fallback);

}  // namespace hisgate
