// One scan of a root: sources + walk + match, written as one signed evidence bundle.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/fs/digest.h"
#include "audit/fs/read_ring.h"
#include "audit/host/identity.h"
#include "audit/manifest/manifest.h"
#include "audit/match/matcher.h"
#include "audit/sources/source.h"
#include "audit/trust/trust_root.h"

namespace audit::scan {

enum class HashScope {
    matched,   // the manifest's path/service/module areas and the files of matched packages
    packages,  // those, and every file any package database lists
    all,       // every regular file under the root
};
HashScope scope_from_string(std::string_view s);  // throws UsageError
const char* to_string(HashScope s);

// What a scan is doing, for a progress display.
struct Progress {
    std::string phase;                   // sources, walk, hash, match, write
    std::string detail;                  // the source or walk root, "" when none
    std::uint64_t files = 0, bytes = 0;  // entries recorded and bytes hashed so far
    double seconds = 0;                  // since the scan started
};

// The process's users and capabilities (/proc/self/status, the running system's /etc/passwd):
// {"uid", "euid", "name", "cap_eff" (hex), "capabilities" (named read-relevant ones),
// "reads_everything"}. Call before entering a user namespace or confining the process.
nlohmann::json effective_user();
// "nobody (uid 65534) without cap_dac_read_search" for messages, from effective_user()'s JSON.
std::string describe_user(const nlohmann::json& user);

struct ScanOptions {
    std::string root = "/";
    std::vector<manifest::Manifest> manifests;
    // Signature status per manifest id (trust::ManifestSignature::to_json()), recorded in the
    // bundle; a manifest without an entry is recorded as unsigned.
    std::map<std::string, nlohmann::json> manifest_signatures;
    // The collector certificate (envelope JSON text) that delegates bundle signing to the
    // collector key for one kit and a validity window; embedded in every bundle.
    std::string collector_certificate;
    std::string out_dir;
    // The kit's sequence state, locked and opened before the process confined itself (beside
    // the collector key: evidence::KitStateLock). Null: the legacy state in out_dir.
    evidence::KitStateLock* chain_state = nullptr;
    std::string kit_id;  // must match the certificate's kit when given
    HashScope scope = HashScope::matched;
    // File digests (sha256 by default; the digests the manifests' hash rules compare are added).
    fs::DigestPolicy digests;
    unsigned jobs = 0;                      // hashing workers; 0: one per CPU
    fs::IoPath io = fs::IoPath::automatic;  // --io: how the walk reads files (coverage says which)
    bool one_filesystem = true;
    std::string tool_name = "audit-scan";
    std::string tool_sha256;  // digest of the running binary, recorded in the statement
    // Run from a kit: the kit manifest's sha256 and the self-check result (kit::SelfCheck::to_json,
    // status "verified" or "unverified"), recorded in the statement. Empty/null: not from a kit.
    std::string kit_manifest_sha256;
    nlohmann::json kit_check;
    // Optional progress: called at every phase change and, during the walk and hashing, at most
    // every progress_interval_ms from the workers (serialized).
    std::function<void(const Progress&)> progress;
    unsigned progress_interval_ms = 200;
    // Who ran the scan (effective_user(), taken before any namespace or confinement), recorded
    // in the predicate as scan.user; null: not recorded.
    nlohmann::json user;
    // Process command lines (redacted) are kept only for processes a rule matched; false drops
    // them all (--no-cmdlines).
    bool record_cmdlines = true;
    // The live source's result when the tool collected it before confining itself (Landlock
    // denies /proc/PID/exe of every process outside the sandbox): used instead of running it.
    std::optional<std::pair<sources::SourceReport, std::vector<InventoryItem>>> live;
    // How the tool confined itself before the scan (fs::Confinement::to_json()), recorded in the
    // predicate as "sandbox"; null when it did not try.
    nlohmann::json confinement;
};

// What the scanning user could not read (coverage.json "access").
struct AccessReport {
    nlohmann::json user;                  // who scanned (ScanOptions::user)
    std::uint64_t permission_denied = 0;  // entries of the walk the kernel refused
    std::vector<std::string> examples;    // the first few of them, sorted
    std::string processes;  // "permission_denied: …" for other users' processes; "" when none

    nlohmann::json to_json() const;  // {user, permission_denied, examples, processes|null}
};

struct ScanResult {
    evidence::WrittenBundle bundle;
    std::string bundle_id;
    std::string kit_id;
    std::uint64_t sequence = 0;
    host::HostIdentity host;
    std::vector<match::Finding> findings;
    evidence::Predicate predicate;  // as signed: the coverage and findings summaries among it
    AccessReport access;
    std::string chain_head;        // the chain head written beside the bundle ("" when not)
    std::string chain_head_error;  // why it could not be written ("" when it was)
    std::string chain_state;       // the sequence state file of the collector key's chain
    std::size_t inventory_items = 0, files = 0;
    nlohmann::json kit_check;  // ScanOptions::kit_check (null: not run from a kit)

    // A product present (definitive/strong, not residue), or a product whose coverage is
    // insufficient (a source it needs failed, a walk root could not be read), or a root that is
    // no whole, identified system: exit 1.
    bool attention() const;
    // coverage.system.gaps: why the root is no whole, identified system (empty when it is).
    std::vector<std::string> system_gaps() const;
    // What audit-scan --json prints: bundle, digests, chain files, kit, host, present, residue,
    // leads, findings, coverage (the signed summary), counts and, from a kit, kit_check.
    nlohmann::json to_json() const;
};

// Never writes under options.root; writes only the bundle and the kit state in out_dir.
// Refuses (VerifyError) a collector key without a valid certificate for it, for this kit and now.
ScanResult run_scan(const ScanOptions& options, const crypto::SigningKey& collector,
                    const trust::TrustRoot& trust);

}  // namespace audit::scan
