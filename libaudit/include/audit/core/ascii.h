// Small ASCII string operations (locale-independent): what the parsers and tools need beside the
// standard library's starts_with/ends_with.
#pragma once

#include <string>
#include <string_view>

namespace audit::core {

// A-Z to a-z; every other byte unchanged.
std::string ascii_lower(std::string_view s);
// Without leading and trailing ASCII white space (space, \t, \n, \v, \f, \r).
std::string_view trim(std::string_view s);

}  // namespace audit::core
