// The signed evidence predicate (urn:audit-toolkit:evidence-bundle:v1/v2/v3) as typed structs: what
// the scanner writes, what the bundle reader's shape check demands, what verify, attest and the
// ledger read. The only place the predicate meets JSON is evidence/predicate.cpp; the rules
// (required members strict, optional members as tolerant as the readers always were, unknown
// members kept verbatim) are in evidence/coverage.h. Format: README.md, "The evidence bundle".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/evidence/coverage.h"
#include "audit/evidence/findings.h"
#include "audit/evidence/host_record.h"

namespace audit::evidence {

// "kit": which kit wrote the bundle and where it stands in the kit's hash chain.
struct KitRecord {
    std::string id;              // required
    std::uint64_t sequence = 0;  // required
    // Required member, null for a kit's first bundle (nullopt here): the previous bundle file's
    // sha256, for information since v2.
    std::optional<std::string> previous_bundle_sha256;
    // v2 (required there, string or null): the previous bundle's statement digest. A v1 bundle
    // may lack the member (has_previous_statement false).
    bool has_previous_statement = false;
    std::optional<std::string> previous_statement_sha256;
    std::optional<nlohmann::json> kit_manifest_sha256;  // string, or null when not from a kit
    std::optional<nlohmann::json> self_check;           // kit::SelfCheck::to_json or {status}
    nlohmann::json extra = nlohmann::json::object();

    // self_check.status ("" when not recorded).
    std::string self_check_status() const;
    // kit_manifest_sha256 when it is a string, "" otherwise (null: not scanned from a kit).
    std::string kit_manifest_sha256_or_empty() const;
};

// "scan": when and how the root was scanned.
struct ScanRecord {
    std::string started, finished;                        // required, RFC 3339, host clock
    std::optional<std::string> clock, root, mode, scope;  // mode: live/offline (v2)
    std::optional<nlohmann::json> user;                   // scan::effective_user(), optional
    nlohmann::json extra = nlohmann::json::object();
};

// "manifests[]": a manifest the scan evaluated.
struct ManifestRecord {
    std::optional<std::string> id, name, version, file, sha256, sha384;
    std::optional<std::vector<std::string>> rules;  // rule ids (v2)
    std::optional<nlohmann::json> signature;        // trust::ManifestSignature::to_json
    nlohmann::json extra = nlohmann::json::object();

    // signature.status ("" when not recorded).
    std::string signature_status() const;
};

struct Predicate {
    std::string bundle_id;                          // required
    KitRecord kit;                                  // required
    HostRecord host;                                // required
    std::optional<nlohmann::json> tool;             // {name, version, sha256}
    std::optional<nlohmann::json> collector_keyid;  // string
    // {keyid, certificate}: read (before the shape check) by trust::check_bundle_signer.
    std::optional<nlohmann::json> collector;
    std::optional<nlohmann::json> trust_root;  // {version, sha256}
    std::optional<std::vector<ManifestRecord>> manifests;
    ScanRecord scan;                          // required
    std::optional<nlohmann::json> sandbox;    // fs::Confinement::to_json or {landlock, reason}
    std::optional<CoverageSummary> coverage;  // an object when present
    FindingsSummary findings;                 // required
    nlohmann::json extra = nlohmann::json::object();

    nlohmann::json to_json() const;
    // The bundle reader's shape check: a required member missing or of another type is a
    // VerifyError "statement predicate field <path> is missing or not <type>", in the order the
    // reader has always checked them. format: 1, 2 or 3 (v2 and v3 also require
    // kit.previous_statement_sha256, a lower-case hex sha256 or null; v3 is v2's predicate over
    // an inventory.jsonl without unmatched packages' file lists: evidence/inventory_lines.h).
    static Predicate from_json(const nlohmann::json& j, int format);

    // The first manifest record with that id, nullptr when none.
    const ManifestRecord* manifest(const std::string& id) const;
    // Ids of the manifests whose signature status is not "verified" (audit-verify's limits).
    std::vector<std::string> unverified_manifests() const;
    // The hash scope: coverage.walk.scope, else scan.scope, "" when neither is recorded.
    std::string walk_scope() const;
};

}  // namespace audit::evidence
