// The signed removal attestation of one host x product (predicate kAttestationPredicate): written
// by attestation(), read back once into a typed Attestation by read_attestation(), which checks
// the statement's shape and that its result is one the merge could have signed. Every reader
// (audit-verify, the evidence check, the recomputation) works on the typed value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/attest.h"
#include "audit/crypto/dsse.h"
#include "audit/crypto/keys.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

// "removed" -> Status::removed, …; nullopt for anything else.
std::optional<Status> status_from_string(std::string_view s);

struct Attestation {
    std::string attested_at;
    std::string host;  // the host key: the statement's subject and result.host
    std::string hostname, product, product_name;
    Status status = Status::inconclusive;
    std::vector<std::string> reasons;
    std::vector<std::string> reason_codes;  // as signed, or derived from reasons when absent
    // Each bundle the status rests on. statement_sha256 is "" when the entry names the bundle
    // by its file digest only (attestations over v1 bundles).
    std::vector<Evidence> evidence;
    std::string removed_at, clean_since;
    nlohmann::json result;  // the signed result object as it came (host_ids, findings, …)
};

// In-toto Statement for one host x product, DSSE-signed by the inspector key.
crypto::Envelope attestation(const HostProductStatus& status, const crypto::SigningKey& inspector,
                             const std::string& attested_at);

// The typed attestation of a statement (no signature check). Throws VerifyError when the
// statement is not a removal attestation, a field has the wrong type, or the result contradicts
// itself: an unknown status; removed or absent with reasons, without the latest bundle among
// its evidence, or (removed) without removed_at; a subject that is not result.host.
Attestation read_attestation(const nlohmann::json& statement);

// Verify an attestation envelope: inspector role, then read_attestation of its payload.
Attestation verify_attestation(const crypto::Envelope& env, const trust::TrustRoot& trust);

// An attestation names the bundles it rests on by digest; this checks those names against the
// bundles actually presented, so an attestation cannot claim evidence that does not exist.
// bundles: digest -> bundle id of the verified bundles at hand (statement digests, and file
// digests for entries that name their bundle by file digest only). Throws VerifyError naming the
// first evidence entry whose digest is not among them, or whose bundle id differs.
void check_evidence(const Attestation& attestation,
                    const std::map<std::string, std::string>& bundles);

}  // namespace audit::attest
