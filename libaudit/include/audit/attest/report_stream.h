// The fleet report written as the hosts come, for fleets too large to hold: the same files as
// write_report (report.json, report.csv, report.html, removal-plan.csv, the FAR 52.204-23
// draft, the attestations and the signed report statement), byte for byte, while memory holds
// one batch of results, the totals (counts per product, family, version and reason code) and
// the removal plan's rows (present articles only). Results go to scratch files beside the
// report (unlinked from the start) and are read back for the page and spliced into report.json.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/far.h"
#include "audit/attest/report.h"

namespace audit::attest {

// Visits the report.json "bundles" entries in order (--as-of is applied by the report).
using BundleEntries = std::function<void(const std::function<void(const nlohmann::json&)>&)>;

class ReportStream {
  public:
    // Creates options.out_dir and its attestations/ directory. far.generated must be set.
    ReportStream(const crypto::SigningKey& inspector, const ReportOptions& options,
                 const FarOptions& far);
    ~ReportStream();
    ReportStream(const ReportStream&) = delete;
    ReportStream& operator=(const ReportStream&) = delete;

    // One host: its bundles as merged and the statuses merged from them, each host once (the
    // ledger hands them over one at a time). Attestations are signed in batches on every core.
    void add_host(const std::vector<const BundleSummary*>& host,
                  std::vector<HostProductStatus> statuses);
    // Writes every file; context.bundles is not read (bundles streams them), the rest of
    // context as write_report reads it. summary.report is report.json without "results" and
    // "bundles".
    ReportSummary finish(const ReportContext& context, const BundleEntries& bundles);
    std::size_t results() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace audit::attest
