#include "audit/attest/evidence_check.h"

#include "audit/error.h"

namespace audit::attest {

void check_evidence(const nlohmann::json& statement,
                    const std::map<std::string, std::string>& bundles) {
    const auto* result = statement.contains("predicate") && statement["predicate"].is_object() &&
                                 statement["predicate"].contains("result")
                             ? &statement["predicate"]["result"]
                             : nullptr;
    if (!result || !result->is_object() || !result->contains("evidence") ||
        !(*result)["evidence"].is_array())
        throw VerifyError("attestation lists no evidence");
    for (const auto& e : (*result)["evidence"]) {
        // An entry names its bundle by statement digest (v2 attestations) and by file digest.
        const char* field =
            e.is_object() && e.contains("statement_sha256") ? "statement_sha256" : "sha256";
        if (!e.is_object() || !e.contains(field) || !(*e.find(field)).is_string())
            throw VerifyError("attestation evidence entry is malformed");
        const std::string sha = e[field].get<std::string>();
        auto it = bundles.find(sha);
        if (it == bundles.end())
            throw VerifyError("attestation evidence " + e.value("bundle_id", "?") + " (sha256 " +
                              sha.substr(0, 16) + "…) matches none of the bundles given");
        if (it->second != e.value("bundle_id", ""))
            throw VerifyError("attestation evidence sha256 " + sha.substr(0, 16) + "… is bundle " +
                              it->second + ", not " + e.value("bundle_id", "?"));
    }
}

}  // namespace audit::attest
