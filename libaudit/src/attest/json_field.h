// The one reader of a string member of a parsed JSON object, shared by the attest/ files (each
// used to carry its own copy, which unity builds would compile into one translation unit).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace audit::attest {

// The string member `key` of `j`, or "" when j is not an object or the member is missing or is
// not a string. Callers that must tell "missing" from "empty" check the member themselves.
inline std::string str(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return "";
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace audit::attest
