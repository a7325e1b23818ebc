// FAR 52.204-23 (covered articles from Kaspersky Lab) draft reports: one record per covered
// article a verified bundle shows, with the clause's fields, the identification date and the
// report and follow-up due dates counted in business days on U.S. federal holidays.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/attest/plan.h"

namespace audit::attest {

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
long civil_day(int year, int month, int day);
std::string civil_date(long day);  // "YYYY-MM-DD"
// The day of "YYYY-MM-DD" or an RFC 3339 time (its UTC date); throws UsageError otherwise.
long day_of(const std::string& date_or_time);

// Non-business days other than Saturdays and Sundays.
class Holidays {
  public:
    // The federal holidays of 5 U.S.C. 6103(a) with the observed day of Executive Order 11582
    // and 5 U.S.C. 6103(b) (Saturday -> the Friday before, Sunday -> the Monday after), as
    // OPM publishes them, for 1990..2100. Inauguration Day (6103(c): only employees in the
    // Washington, DC area) is not included.
    static Holidays federal();
    // One YYYY-MM-DD per line; blank lines and text after '#' are ignored. Replaces the
    // built-in list entirely. Throws UsageError on anything else.
    static Holidays load(const std::string& path);
    bool contains(long day) const { return days_.count(day) != 0; }
    bool business_day(long day) const;
    // The n-th business day after day (day itself not counted).
    long add_business_days(long day, int n) const;
    const std::string& source() const { return source_; }
    std::vector<std::string> in_year(int year) const;

  private:
    std::set<long> days_;
    std::string source_;
};

// The observed dates of the federal holidays whose observed day falls in year (what OPM's table
// for that year lists), sorted.
std::vector<std::string> federal_holidays(int year);

struct FarOptions {
    std::string contract;             // --contract
    std::vector<std::string> orders;  // --order (repeatable or comma-separated)
    std::string submitted;  // --submitted DATE: when the 3-day report went in ("" = not yet)
    std::string generated;  // the report's time (RFC 3339 UTC)
    Holidays holidays = Holidays::federal();
};

// The draft: {"clause", "contract_number", "order_numbers", "holidays", "records": [...]}.
nlohmann::json far_draft(const Articles& articles, const FarOptions& options);
std::string render_far_csv(const nlohmann::json& draft);
// far_draft piece by piece (a streamed report): the draft with no records, one record, and
// the CSV's header line and one row per record.
nlohmann::json far_draft_head(const FarOptions& options);
nlohmann::json far_record(const Article& article, const FarOptions& options);
std::string far_csv_header();
std::string far_csv_row(const nlohmann::json& record);

}  // namespace audit::attest
