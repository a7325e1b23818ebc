// Attestation of removal: merge verified bundles into one status per host and product.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

inline constexpr std::string_view kAttestationPredicate =
    "urn:audit-toolkit:removal-attestation:v1";

enum class Status { removed, absent, present, inconclusive };
const char* to_string(Status s);

// What the merge needs of one verified bundle (all of it from the signed statement).
struct BundleSummary {
    std::string path, sha256, bundle_id;  // sha256: of the bundle file
    std::string statement_sha256;         // of the DSSE payload bytes: the bundle's identity
    std::string kit_id;
    std::uint64_t sequence = 0;
    std::string previous_sha256;            // file digest of the previous bundle ("" for a first)
    std::string previous_statement_sha256;  // v2 chain link ("" for a first bundle or v1)
    int format = 1;                         // bundle format 1, 2 or 3
    std::string imported_at;                // ledger: RFC 3339 import time; "" in file mode
    bool live = false;                      // host.live (v2 also scan.mode == "live")
    std::string finished;                   // scan end, host clock (RFC 3339)
    std::string hostname, machine_id, dmi_product_uuid;
    std::string windows_machine_guid;                   // a Windows disk's MachineGuid
    evidence::Predicate predicate;                      // the signed predicate, typed
    nlohmann::json findings = nlohmann::json::array();  // findings.json
};
BundleSummary summarize(const evidence::Bundle& bundle);
// The same from the signed predicate and findings.json as a ledger keeps them.
// Throws VerifyError when the predicate lacks what the merge needs.
BundleSummary summarize(const std::string& path, const std::string& sha256,
                        const std::string& statement_sha256, nlohmann::json predicate,
                        std::string_view findings_json);
// Without the statement digest (v1 callers): the file digest stands in for it.
BundleSummary summarize(const std::string& path, const std::string& sha256,
                        nlohmann::json predicate, std::string_view findings_json);

struct Evidence {
    std::string bundle_id;
    std::string statement_sha256;  // the bundle's identity (JSON "statement_sha256")
    std::string sha256;            // of the bundle file (JSON "sha256")
    std::string role;              // "finding" (last one with findings), "latest"
};

struct HostProductStatus {
    std::string host_key;  // "machine-id:…", "windows-machine-guid:…", "dmi:…" or "hostname:…"
    std::string hostname;
    nlohmann::json host_ids;
    std::string product, product_name;
    Status status = Status::inconclusive;
    std::vector<std::string> reasons;  // codes with detail, e.g. "coverage_gap: source dpkg failed"
    std::vector<std::string> reason_codes;             // the sorted unique codes of reasons
    nlohmann::json residue = nlohmann::json::array();  // residue findings of the latest bundle
    std::vector<Evidence> evidence;
    nlohmann::json manifest_versions = nlohmann::json::array();
    // Scan end (host clock) of the first and the latest bundle that evaluated the product.
    std::string first_scan, latest_scan;
    // Scan end of the first and the last bundle that found the product ("" when none did).
    std::string first_found, last_found;
    // removed: the first clean bundle after the last finding that would itself prove removal
    // (every check of the decision table passes for it); "" unless the status is removed.
    std::string removed_at;
    // removed: removed_at; absent: the first clean bundle that would itself prove absence;
    // "" otherwise. The progress curve counts a pair clean from this day.
    std::string clean_since;
    // What was found, each {rule, confidence, family, kind, lead, items: [{ecosystem, name,
    // version, publisher, signer, path, registry_key, unit}]}: the findings that prove presence
    // of the finding bundle (the latest when present, else the last that found the product).
    nlohmann::json findings = nlohmann::json::array();
    // Weak findings (not presence) of the latest bundle, for review.
    nlohmann::json leads = nlohmann::json::array();
    std::string family;  // of the first finding or lead with one; "unspecified" otherwise

    nlohmann::json to_json() const;
};

// One finding of findings.json in the short form of HostProductStatus::findings.
nlohmann::json finding_summary(const nlohmann::json& finding);

// Which host a bundle belongs to: "machine-id:…", else "windows-machine-guid:…", else "dmi:…",
// else "hostname:…".
std::string host_key(const std::string& machine_id, const std::string& windows_machine_guid,
                     const std::string& dmi_product_uuid, const std::string& hostname);
std::string host_key(const BundleSummary& b);

// The few facts of a bundle that concern the whole fleet (kit chains, shared identifiers): small
// enough to hold for every bundle while the heavy summaries are read one host at a time.
struct BundleRef {
    std::string sha256, kit_id, previous_sha256, host_key, dmi_product_uuid;
    std::uint64_t sequence = 0;
    std::string statement_sha256, previous_statement_sha256;
    int format = 1;
    // The bundle's strong identifiers (host.ids but the hostname: machine_id, dmi_product_uuid,
    // root_fs_uuid, ssh_host_keys, windows_machine_guid, windows_machine_sid,
    // macos_hardware_uuid); when empty, dmi_product_uuid alone is used.
    std::map<std::string, std::string> ids;
    // The identifiers an identity conflict is counted by (FleetFacts, the ledger's scratch): ids,
    // or dmi_product_uuid alone when ids is empty.
    std::map<std::string, std::string> counted_ids() const;
};
BundleRef ref_of(const BundleSummary& b);

// How the merge judges time.
struct MergeOptions {
    std::string now;  // attestation time (RFC 3339 UTC); "" = the real clock at the merge
    std::int64_t clock_tolerance_s = 3600;  // bundles of different kits closer than this are
                                            // not ordered by their (host) clocks
    // Point in time (RFC 3339 UTC): only bundles whose scan finished by then are merged.
    // "" = everything.
    std::string as_of;
};

// The code of a reason string: the part before ": " (the whole string when there is none).
std::string reason_code(const std::string& reason);

struct ChainIssue {
    std::string kit;
    std::uint64_t from_sequence = 0;
    std::string reason;  // "chain_gap: …", "chain_fork: …", "chain_broken: …"
};

// Fleet-wide findings that make a host's statuses inconclusive: gaps, forks and broken links in
// each kit's hash chain, chains not closed by a verified head, and strong identifiers seen under
// more than one host key.
class FleetFacts {
  public:
    // bundles: duplicates (same statement digest) count once. heads: verified chain heads; the
    // highest per kit counts.
    FleetFacts(const std::vector<BundleRef>& bundles, const std::vector<evidence::ChainHead>& heads,
               const MergeOptions& options);
    // The same facts drawn elsewhere without every bundle in memory (Ledger::verify, kit by kit):
    // each kit's chain issues as the constructor above finds them for that kit's bundles, and the
    // strong identifiers seen under two or more host keys ("key\x1fvalue" -> those host keys;
    // an identifier under one host key gives no reason and may be left out). Defined in ledger.cpp.
    FleetFacts(std::vector<ChainIssue> chain_issues,
               std::map<std::string, std::set<std::string>> shared_ids,
               const MergeOptions& options);
    // issues_by_kit_ points into chain_issues_: a copy would point into the original, so there
    // is none. A move keeps the vector's elements where they are.
    FleetFacts(const FleetFacts&) = delete;
    FleetFacts& operator=(const FleetFacts&) = delete;
    FleetFacts(FleetFacts&&) noexcept = default;
    FleetFacts& operator=(FleetFacts&&) noexcept = default;
    const std::vector<ChainIssue>& chain_issues() const { return chain_issues_; }
    const MergeOptions& options() const { return options_; }
    // Host-level reasons for one host, given that host's bundles.
    std::vector<std::string> host_reasons(const std::vector<const BundleSummary*>& host) const;

  private:
    MergeOptions options_;
    std::vector<ChainIssue> chain_issues_;
    std::map<std::string, std::vector<const ChainIssue*>> issues_by_kit_;
    std::map<std::string, std::set<std::string>> id_hosts_;  // "key\x1fvalue" -> host keys
};

// The rules of DESIGN.md "Attestation of removal" for the bundles of one host (any order, no
// duplicates), one status per product any of them evaluated.
std::vector<HostProductStatus> merge_host(std::vector<const BundleSummary*> host,
                                          const FleetFacts& fleet);

// Called once per host the merge formed, with that host's bundles (duplicates dropped) and the
// statuses merged from them: what else is derived per host (removal plan, FAR articles) sees
// exactly the merge's grouping, never a second keying of its own.
using HostMerged = std::function<void(const std::vector<const BundleSummary*>& host,
                                      const std::vector<HostProductStatus>& statuses)>;

// All of it in memory: group by host, then merge_host. Bundles may come in any order.
std::vector<HostProductStatus> merge(const std::vector<BundleSummary>& bundles,
                                     const std::vector<evidence::ChainHead>& heads,
                                     const MergeOptions& options,
                                     const HostMerged& per_host = nullptr);

// A ledger holding stored evidence that no longer verifies (a row edited or damaged in the file, a
// collector revoked since the import) proves no host clean: the statement that cannot be read
// could be a later scan or one side of a fork of any host, and dropping it must not improve a
// status. With not_verified > 0 every removed or absent becomes inconclusive ("not_verified").
void hold_back_for_unverified(std::vector<HostProductStatus>& statuses, std::size_t not_verified);

}  // namespace audit::attest
