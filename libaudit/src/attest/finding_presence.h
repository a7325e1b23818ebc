// Whether one finding of a bundle's findings.json proves the product present: the one answer the
// attestation (attest.cpp: its findings and leads) and the removal plan (plan.cpp: its articles)
// share, so the plan never leaves out a finding the attestation counts.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "json_field.h"

namespace audit::attest {

// Not residue, and a confidence of "definitive" or "strong", or none at all: presence means "not
// clean", so a finding that does not say how sure it is counts as proof (the safe reading). A
// member that is not an object is no finding (it names no product either).
inline bool finding_proves_presence(const nlohmann::json& f) {
    if (!f.is_object() || f.value("residue", false)) return false;
    const std::string c = str(f, "confidence");
    return c.empty() || c == "definitive" || c == "strong";
}

}  // namespace audit::attest
