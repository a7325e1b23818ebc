// The evidence ledger: every verified bundle of a campaign in one SQLite file, with what is
// needed to recompute every status without the bundle files (the signed statement itself).
//
// The ledger holds no key, so nothing in it is trusted: `verify` re-verifies every stored signed
// statement and chain head under the trust root given now (revocations included) and every fact a
// report uses comes from what verifies. The other tables (hosts, identities, findings, ...) and the
// views (host_status, findings_detail) are query conveniences only; editing them changes no
// status. A schema-2 or -3 ledger is migrated to schema 4 when opened; other schemas are refused.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/attest.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

namespace sql {
class Db;
}

enum class ImportResult { added, duplicate, conflict, rejected };
const char* to_string(ImportResult r);

struct ImportOutcome {
    std::string file, sha256;  // sha256: of the bundle file (of the head file for a head)
    ImportResult result = ImportResult::added;
    std::string detail;           // why rejected; which bundle it conflicts with
    std::string kind = "bundle";  // "bundle" or "chain_head"
};

struct LedgerStats {
    std::int64_t bundles = 0, hosts = 0, packages = 0, inventory_rows = 0, findings = 0,
                 conflicts = 0, rejected = 0, chain_heads = 0;
    nlohmann::json to_json() const;
};

// A stored statement or chain head that does not verify under the trust root given now: listed,
// never used. Everything but reason is what the ledger's own columns say (not verified).
struct NotVerified {
    std::string kind;  // "bundle" or "chain_head"
    std::string file, sha256, statement_sha256, kit;
    std::string reason;
    nlohmann::json to_json() const;
};

// What `Ledger::verify` found: the verified bundles' fleet-wide facts, the verified chain heads,
// and what did not verify. for_each_host reads only the bundles listed here.
class VerifiedLedger {
  public:
    // The fleet-wide facts of the verified statements, drawn kit by kit from a scratch database
    // (memory holds one kit's bundles at a time, not the fleet's): each kit's chain issues given
    // the verified heads, and the strong identifiers seen under two or more host keys.
    std::vector<ChainIssue> chain_issues;
    std::map<std::string, std::set<std::string>> shared_ids;  // "key\x1fvalue" -> host keys
    FleetFacts facts(const MergeOptions& options) const {
        return {chain_issues, shared_ids, options};
    }
    std::vector<evidence::ChainHead> heads;  // verified; per kit the highest the ledger kept
    std::vector<NotVerified> not_verified;
    nlohmann::json conflicts = nlohmann::json::array();  // kit sequences held by 2+ statements

    // The report's "bundles" entries ({file, bundle_id, sha256, statement_sha256, kit,
    // sequence, host, finished, imported_at}), from the verified statements, in ledger order.
    // Kept in a scratch file, not in memory: one entry per bundle of the fleet.
    void for_each_bundle(const std::function<void(const nlohmann::json&)>& fn) const;
    std::size_t bundle_count() const { return bundle_count_; }

  private:
    friend class Ledger;
    struct Entry {
        std::int64_t id = 0;
        std::uint32_t host = 0, imported_at = 0;  // into hosts_, times_
        std::array<unsigned char, 32> statement_sha256{}, findings_sha256{};
        bool has_findings = false;
    };
    std::vector<Entry> entries_;              // sorted by host key, then row id
    std::vector<std::string> hosts_, times_;  // host keys and import times, each once
    std::shared_ptr<std::FILE> bundles_;      // JSON lines
    std::size_t bundle_count_ = 0;
};

struct ImportOptions {
    std::vector<std::string> chain_heads;  // *.chain-head.dsse.json files
    // The file trust was loaded from: the ledger's authority is pinned on the first import and a
    // root of another authority (or older, or a fork) is refused. "" skips the check (tests).
    std::string trust_path;
    std::function<void(std::size_t, std::size_t)> progress;  // (done, total), calling thread
    // When set, each outcome is handed here (calling thread, input order, bundles then heads)
    // instead of being returned, so a large import does not hold them all. They come before the
    // transaction commits: when import throws, none of them was recorded.
    std::function<void(ImportOutcome&&)> on_outcome;
};

class Ledger {
  public:
    // Opens (creating when asked) a ledger file; refuses a file that is not one (UsageError).
    Ledger(const std::string& path, bool create);
    ~Ledger();
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;

    // Verify every bundle against the trust root (in parallel) and record them in ONE transaction:
    // an interrupted import leaves the ledger as it was. A bundle already in the ledger (same
    // statement digest) changes nothing; one with a kit sequence already held by another
    // statement is recorded and flagged; one that fails verification is recorded as rejected, by
    // digest and reason. Chain heads are verified too; per kit the highest verified head is kept
    // (a lower one never replaces it). Throws VerifyError when trust is not of the ledger's
    // authority (see ImportOptions::trust_path). Returns the outcomes in input order, bundles then
    // heads (none when options.on_outcome takes them).
    std::vector<ImportOutcome> import(const std::vector<std::string>& paths,
                                      const trust::TrustRoot& trust,
                                      const ImportOptions& options = {});

    // Throws VerifyError unless trust (loaded from trust_path) is of the authority this ledger
    // holds evidence of: the same authority, the version pinned or a successor of it (walked
    // through root-history/ beside trust_path). A ledger with bundles but no authority recorded
    // is refused too. With pin, records trust as the ledger's authority (first import, newer
    // version).
    void check_authority(const trust::TrustRoot& trust, const std::string& trust_path, bool pin);
    nlohmann::json authority();  // {authority, version, sha256, pinned_at} or null

    // Re-verify every stored statement (signature and collector certificate under trust, with
    // its revocations; statement digest; findings.json against the digest the statement signs)
    // and every stored chain head, in parallel. now bounds the import times the ledger recorded
    // (a later one is taken as now).
    VerifiedLedger verify(const trust::TrustRoot& trust, const std::string& now,
                          const std::function<void(std::size_t, std::size_t)>& progress = {});
    // The verified bundles, one host (by the host key of the verified statement) at a time, so
    // memory is bounded by the largest host and one batch of 256 bundles, not by the fleet
    // (the batch is decoded on every core; hosts come in the same order whatever the number of
    // workers). Throws VerifyError when a stored statement changed since verify.
    void for_each_host(const VerifiedLedger& verified,
                       const std::function<void(std::vector<BundleSummary>&&)>& fn);

    LedgerStats stats();
    nlohmann::json rejected();  // [{file, sha256, reason}] not later imported

  private:
    std::unique_ptr<sql::Db> db_;
    void create_schema();
    void migrate_2_to_3();
    void migrate_3_to_4();
    std::map<std::int64_t, std::string> load_dicts();  // zdicts: id -> bytes
    void check_authority_locked(const trust::TrustRoot& trust, const std::string& trust_path,
                                bool pin);
};

}  // namespace audit::attest
