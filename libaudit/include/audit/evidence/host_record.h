// The host as the predicate records it ("host"): name, identifiers, OS, live or offline.
// host.json carries the whole host::HostIdentity; this is the signed subset. to/from JSON in
// evidence/predicate.cpp; the model's JSON rules are in evidence/coverage.h.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/host/identity.h"

namespace audit::evidence {

struct HostRecord {
    std::string hostname;                    // required
    std::map<std::string, std::string> ids;  // required object of strings (host.ids)
    std::optional<std::string> os;           // os-release PRETTY_NAME
    std::optional<bool> live;
    nlohmann::json extra = nlohmann::json::object();

    static HostRecord of(const host::HostIdentity& h);
    nlohmann::json to_json() const;
    // Strict: hostname a string, ids an object of strings (VerifyError naming "host.<member>").
    static HostRecord from_json(const nlohmann::json& j);
    // ids[key], "" when not recorded.
    std::string id(const std::string& key) const;
};

}  // namespace audit::evidence
