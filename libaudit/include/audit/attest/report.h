// The fleet report: signed attestations plus report.json, report.csv and one self-contained
// offline HTML page, from the statuses either path (bundles in memory, or a ledger) computed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/attest.h"
#include "audit/crypto/keys.h"

namespace audit::attest {

// A campaign milestone: day N after the campaign start, what it asks for, and how the report
// judges whether it was met by its date: "identify" (every host x product pair scanned by then),
// "begin-removal" (a pair found by then was proven removed by then, or none was found),
// "removed" (every pair found by then was proven removed by then), "plan" and "none" (not
// judged from evidence).
struct Mark {
    long day = 0;
    std::string kind, label;
};
// BOD 17-01: 30 identify and report, 60 plan, 90 begin removal.
std::vector<Mark> default_marks();
// "DAY:KIND[:LABEL]" (LABEL defaults to the kind); throws UsageError.
Mark parse_mark(const std::string& text);

struct ReportOptions {
    std::string out_dir;
    std::string generated;       // RFC 3339 UTC
    std::string campaign_start;  // RFC 3339 or YYYY-MM-DD; "" = the earliest scan
    bool html = true;            // also report.csv and report.html
    std::string as_of;           // RFC 3339 UTC: a point-in-time report ("" = generated)
    std::vector<Mark> marks = default_marks();
    std::string title;  // agency / campaign title of the page ("" = the default)
};

// What the report says about where its inputs came from (copied into report.json as given).
struct ReportContext {
    nlohmann::json trust_root = nlohmann::json::object();  // {version, sha256}
    nlohmann::json bundles = nlohmann::json::array();
    nlohmann::json rejected = nlohmann::json::array();
    nlohmann::json conflicts = nlohmann::json::array();
    // Stored statements and chain heads that no longer verify under the trust root (ledger):
    // listed, never used.
    nlohmann::json not_verified = nlohmann::json::array();
    nlohmann::json ledger;        // ledger statistics, when the report came from one
    nlohmann::json removal_plan;  // plan.h removal_plan(); null = none
    nlohmann::json far;           // far.h far_draft(); null = none
};

// A point-in-time report (--as-of): drops from context the bundles whose scan finished after
// as_of ("finished"), the conflicts whose bundles had not all finished by then ("finished": the
// later of the two) and the rejections recorded after it ("rejected_at", a ledger's time).
// Entries without such a time stay (a rejected file in the first form has no trusted date).
void restrict_to_as_of(ReportContext& context, const std::string& as_of);

struct ReportSummary {
    nlohmann::json report;  // what report.json holds
    bool all_clear = true;  // every status removed or absent
};

// Signs one attestation per status (on all cores) into out_dir/attestations/, then writes
// out_dir/report.json (and report.csv, report.html). Statuses are reported in the order given.
ReportSummary write_report(const std::vector<HostProductStatus>& statuses,
                           const crypto::SigningKey& inspector, const ReportOptions& options,
                           const ReportContext& context);

// Pure renderers over report.json, so tests can check them without signing anything.
std::string render_csv(const nlohmann::json& report);
std::string render_html(const nlohmann::json& report);

// The results of a report (report.json "results" entries) visited in order; the visitor returns
// false to stop. The page is drawn in a few passes over them, so they need not all be in memory.
using ResultVisitor = std::function<bool(const nlohmann::json&)>;
using ResultSource = std::function<void(const ResultVisitor&)>;
ResultSource array_source(const nlohmann::json& results);  // over an array (kept by reference)
// report.html from report.json without its results, and the results from source.
std::string render_html(const nlohmann::json& report, const ResultSource& results);
// report.csv piece by piece: the header line and one row per result (render_csv is both).
std::string csv_header(bool by_site);
std::string csv_row(const nlohmann::json& result, bool by_site);

// Text safe inside HTML element content and attribute values, in UTF-8 (bytes that are not UTF-8
// show U+FFFD, as report.json shows them).
std::string html_escape(std::string_view text);
// One CSV field (RFC 4180 quoting; a leading = + - @ is defused for spreadsheets).
std::string csv_field(std::string_view text);
// Whole days from a to b (RFC 3339 or YYYY-MM-DD); throws UsageError on a malformed date.
long days_between(const std::string& a, const std::string& b);
// "YYYY-MM-DD" -> "YYYY-MM-DDT23:59:59Z" (the end of that day); an RFC 3339 UTC time as is.
// Throws UsageError otherwise.
std::string end_of_day(const std::string& date);

// What changed between two report.json documents: counts, and per host x product the pairs
// added, gone and whose status, removal date or versions changed.
nlohmann::json report_diff(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace audit::attest
