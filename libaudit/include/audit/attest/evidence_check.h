// An attestation names the bundles it rests on by digest; this checks those names against the
// bundles actually presented, so an attestation cannot claim evidence that does not exist.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace audit::attest {

// statement: a verified removal attestation (verify_attestation). bundles: digest -> bundle id of
// the verified bundles at hand (statement digests, and file digests for attestations that name
// their evidence by file digest only). Throws VerifyError naming the first evidence entry whose
// digest is not among them, or whose bundle id differs.
void check_evidence(const nlohmann::json& statement,
                    const std::map<std::string, std::string>& bundles);

}  // namespace audit::attest
