// An attestation names the bundles it rests on by digest; this checks those names against the
// bundles actually presented, so an attestation cannot claim evidence that does not exist.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace audit::attest {

// statement: a verified removal attestation (verify_attestation). bundles: sha256 -> bundle id of
// the verified bundles at hand. Throws VerifyError naming the first evidence entry whose digest is
// not among them, or whose bundle id differs.
void check_evidence(const nlohmann::json& statement,
                    const std::map<std::string, std::string>& bundles);

}  // namespace audit::attest
