// What the verified findings name, per host x product: the articles (packages, uninstall
// entries, MSI products) a removal plan and a FAR 52.204-23 report list, with the uninstall
// command the evidence shows and when each was first and last found.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/attest.h"
#include "audit/crypto/keys.h"

namespace audit::attest {

struct BundleRefLite {
    std::string bundle_id, statement_sha256, sha256, finished, imported_at;
    nlohmann::json to_json() const;
};

struct Article {
    std::string host_key, hostname, product, product_name, family, status;
    std::string name, version, ecosystem, publisher, product_code, where;
    std::string uninstall_command, command_source;
    std::vector<std::string> rules;
    BundleRefLite first, last;  // the earliest and latest bundle whose findings show it
    nlohmann::json to_json() const;
};

class Articles {
  public:
    // A point-in-time report (--as-of, RFC 3339 UTC): bundles scanned or imported after it are
    // left out, as the merge leaves them out.
    std::string as_of;
    // One host's verified bundles (any order) and the statuses merge_host computed from them.
    void collect(const std::vector<const BundleSummary*>& host,
                 const std::vector<HostProductStatus>& statuses);
    const std::vector<Article>& list() const { return list_; }
    // The articles collected so far, handed over (the list is empty afterwards): a streamed
    // report takes them host by host.
    std::vector<Article> take();

  private:
    std::vector<Article> list_;
};

// The uninstall command for one finding record's inventory object ("" when the evidence shows
// none) and where it came from.
std::pair<std::string, std::string> uninstall_command(const nlohmann::json& inventory);

// Removal plan rows: the articles of present hosts by family, product, name and version.
nlohmann::json removal_plan(const Articles& articles);
nlohmann::json removal_plan(const std::vector<Article>& articles);
std::string render_plan_csv(const nlohmann::json& plan);

// Pieces of report.html (report.cpp calls them): the page title, the print stylesheet and the
// removal-plan section (bounded; the CSV holds every row).
std::string page_title(const nlohmann::json& report);
const char* print_css();
std::string plan_html_section(const nlohmann::json& report);

// Into report.json: "title", "removal_plan" and a "far_52_204_23" summary (records, earliest
// report due date).
void add_agency_sections(nlohmann::json& report, const std::string& title,
                         const nlohmann::json& plan, const nlohmann::json& far);
// The same from the FAR draft's record count and earliest report due date (a streamed report).
void add_agency_sections(nlohmann::json& report, const std::string& title,
                         const nlohmann::json& plan, std::size_t far_records,
                         const std::string& earliest_due);
// removal-plan.csv, far-52.204-23.json/.csv beside the report, then the signed statement over
// every report file (report_statement.h).
void write_agency_files(const std::string& out_dir, const nlohmann::json& report,
                        const nlohmann::json& far, const crypto::SigningKey& inspector);
// The signed statement alone, over report.json, report.csv and report.html (when written),
// removal-plan.csv (when report lists a removal_plan), the FAR files (with_far) and
// attestations/; report may lack "results" (results gives their number).
void sign_report(const std::string& out_dir, const nlohmann::json& report, bool with_far,
                 std::size_t results, const crypto::SigningKey& inspector);

}  // namespace audit::attest
