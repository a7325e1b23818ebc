// The evidence ledger: every verified bundle of a campaign in one SQLite file, with what is
// needed to recompute every status without the bundle files (the signed statement itself).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/attest.h"
#include "audit/evidence/bundle.h"
#include "audit/trust/trust_root.h"

namespace audit::attest {

namespace sql {
class Db;
}

enum class ImportResult { added, duplicate, conflict, rejected };
const char* to_string(ImportResult r);

struct ImportOutcome {
    std::string file, sha256;
    ImportResult result = ImportResult::added;
    std::string detail;  // why rejected; which bundle it conflicts with
};

struct LedgerStats {
    std::int64_t bundles = 0, hosts = 0, packages = 0, inventory_rows = 0, findings = 0,
                 conflicts = 0, rejected = 0;
    nlohmann::json to_json() const;
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
    // sha256) changes nothing; one with a kit sequence already held by other bytes is recorded
    // and flagged; one that fails verification is recorded as rejected, by digest and reason.
    // progress(done, total) is called from the calling thread.
    std::vector<ImportOutcome> import(
        const std::vector<std::string>& paths, const trust::TrustRoot& trust,
        const std::function<void(std::size_t, std::size_t)>& progress = {});

    // The fleet-wide facts of every bundle (small), then each host's bundles, one host at a
    // time (memory bounded by the largest host, not by the fleet).
    std::vector<BundleRef> bundle_refs();
    void for_each_host(const std::function<void(std::vector<BundleSummary>&&)>& fn);

    LedgerStats stats();
    nlohmann::json bundles();     // [{file, bundle_id, sha256, kit, sequence, host}]
    nlohmann::json conflicts();   // [{kit, sequence, sha256, other_sha256, file}]
    nlohmann::json rejected();    // [{file, sha256, reason}] not later imported
    std::string earliest_scan();  // "" when empty

  private:
    std::unique_ptr<sql::Db> db_;
    void create_schema();
};

}  // namespace audit::attest
