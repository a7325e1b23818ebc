// What write_report (report.cpp) and the streamed report (report_stream.cpp) share: signing the
// attestations on every core, and the totals report.json holds beside its results.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/report.h"

namespace audit::attest::detail {

// Threads for the per-bundle work of import, verify and report (verification, decompression,
// parsing, signing): the cores, at most cap; AUDIT_WORKERS (1..64) sets it instead. The results
// are committed in input order whatever the count, so the ledger and report do not depend on it.
unsigned worker_threads(unsigned cap);

void make_report_dir(const std::string& dir);
void sync_report_dir(const std::string& dir);  // syncfs: the unsynced attestation files
long long report_epoch(const std::string& t);  // UsageError on a malformed date

// Signs statuses[0..count) on every core into out/attestations/ (not synced: sync_report_dir),
// one key clone per thread kept in keys between calls; returns the files' names, in order.
std::vector<std::string> sign_attestations(const HostProductStatus* statuses, std::size_t count,
                                           std::vector<std::optional<crypto::SigningKey>>& keys,
                                           const crypto::SigningKey& inspector,
                                           const std::string& out, const std::string& generated);

// The totals of report.json, one result at a time: counts, products, reason codes, families
// and versions, the earliest scan. Bounded by products, families, versions and codes, never
// by the number of results.
class ReportTotals {
  public:
    void add(const nlohmann::json& result);  // report.json form (with "attestation")
    bool all_clear() const { return all_clear_; }
    long long results() const { return results_; }
    // report.json but "results", "bundles" and the agency sections; results is visited once more
    // for the milestones. Throws UsageError on a --campaign-start after the report's date.
    nlohmann::json head(const ReportOptions& options, const ReportContext& context,
                        const std::string& inspector_keyid, std::size_t hosts,
                        const ResultSource& results) const;

  private:
    long long results_ = 0;
    bool all_clear_ = true;
    std::string earliest_;
    std::map<std::string, long long> counts_, reason_codes_;
    std::map<std::string, std::pair<std::string, std::map<std::string, long long>>> products_;
    std::map<std::string, std::map<std::string, long long>> family_counts_, family_versions_,
        product_versions_;
};

}  // namespace audit::attest::detail
