// Attestation of removal: merge verified bundles into one status per host and product.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

inline constexpr std::string_view kAttestationPredicate = "urn:audit-toolkit:removal-attestation:v1";

enum class Status { removed, absent, present, inconclusive };
const char* to_string(Status s);

// What the merge needs of one verified bundle (all of it from the signed statement).
struct BundleSummary {
    std::string path, sha256, bundle_id;
    std::string kit_id;
    std::uint64_t sequence = 0;
    std::string previous_sha256;  // "" for a kit's first bundle
    std::string finished;  // scan end, host clock (RFC 3339)
    std::string hostname, machine_id, dmi_product_uuid;
    std::string windows_machine_guid;  // a Windows disk's MachineGuid
    nlohmann::json predicate;
    nlohmann::json findings = nlohmann::json::array();  // findings.json
};
BundleSummary summarize(const evidence::Bundle& bundle);

struct Evidence {
    std::string bundle_id, sha256, role;  // role: "finding" (last one with findings), "latest"
};

struct HostProductStatus {
    std::string host_key;  // "machine-id:…", "windows-machine-guid:…", "dmi:…" or "hostname:…"
    std::string hostname;
    nlohmann::json host_ids;
    std::string product, product_name;
    Status status = Status::inconclusive;
    std::vector<std::string> reasons;  // codes with detail, e.g. "coverage_gap: source dpkg failed"
    nlohmann::json residue = nlohmann::json::array();  // residue findings of the latest bundle
    std::vector<Evidence> evidence;
    nlohmann::json manifest_versions = nlohmann::json::array();

    nlohmann::json to_json() const;
};

// The rules of DESIGN.md "Attestation of removal". Bundles may come in any order.
std::vector<HostProductStatus> merge(const std::vector<BundleSummary>& bundles);

// in-toto Statement for one host x product, DSSE-signed by the inspector key.
crypto::Envelope attestation(const HostProductStatus& status, const crypto::SigningKey& inspector,
                             const std::string& attested_at);

// Verify an attestation envelope: inspector role, statement shape. Returns the statement.
nlohmann::json verify_attestation(const crypto::Envelope& env, const trust::TrustRoot& trust);

}  // namespace audit::attest
