// The predicate's findings summary: which products the scan found present, as residue, or as
// leads. The findings themselves are findings.json (match::Finding::to_json). to/from JSON in
// evidence/predicate.cpp; the model's JSON rules are in evidence/coverage.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace audit::evidence {

struct FindingsSummary {
    std::optional<std::uint64_t> count;  // findings in findings.json
    // Required (the reader refuses a bundle without them): product ids, sorted.
    std::vector<std::string> present, residue, leads;
    nlohmann::json extra = nlohmann::json::object();

    nlohmann::json to_json() const;
    // Strict: present, residue and leads must be lists of strings (VerifyError naming
    // "findings.<member>").
    static FindingsSummary from_json(const nlohmann::json& j);
    bool finds(const std::string& product) const;  // in present
};

}  // namespace audit::evidence
