#include "audit/attest/far.h"
#include "json_field.h"

#include <algorithm>
#include <cstdio>

#include "audit/attest/report.h"
#include "audit/core/utc.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/input_file.h"

namespace audit::attest {

namespace {

using nlohmann::json;

int weekday(long day) {  // 0 = Sunday; 1970-01-01 was a Thursday
    return static_cast<int>(((day % 7) + 7 + 4) % 7);
}

int days_in_month(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

// The n-th (1-based) weekday wd of a month; n = -1 for the last.
long nth_weekday(int y, int m, int wd, int n) {
    if (n > 0) {
        long first = civil_day(y, m, 1);
        return first + (wd - weekday(first) + 7) % 7 + 7L * (n - 1);
    }
    long last = civil_day(y, m, days_in_month(y, m));
    return last - (weekday(last) - wd + 7) % 7;
}

long observed(long day) {
    int wd = weekday(day);
    return wd == 6 ? day - 1 : wd == 0 ? day + 1 : day;
}

// The holidays of year y (observed days; New Year's Day of y may be observed on Dec 31, y-1).
std::vector<long> holidays_of(int y) {
    std::vector<long> out = {
        observed(civil_day(y, 1, 1)),    // New Year's Day
        nth_weekday(y, 1, 1, 3),         // Birthday of Martin Luther King, Jr.
        nth_weekday(y, 2, 1, 3),         // Washington's Birthday
        nth_weekday(y, 5, 1, -1),        // Memorial Day
        observed(civil_day(y, 7, 4)),    // Independence Day
        nth_weekday(y, 9, 1, 1),         // Labor Day
        nth_weekday(y, 10, 1, 2),        // Columbus Day
        observed(civil_day(y, 11, 11)),  // Veterans Day
        nth_weekday(y, 11, 4, 4),        // Thanksgiving Day
        observed(civil_day(y, 12, 25)),  // Christmas Day
    };
    if (y >= 2021) out.push_back(observed(civil_day(y, 6, 19)));  // Juneteenth (since 2021)
    return out;
}

}  // namespace

long civil_day(int y, int m, int d) {
    return static_cast<long>(
        core::days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
}

std::string civil_date(long z) {
    return core::format_date(z);
}

long day_of(const std::string& t) {
    int y = 0, m = 0, d = 0;
    char tail = 0;
    int n = std::sscanf(t.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail);
    if (n < 3 || t.size() < 10 || (n == 4 && tail != 'T') || y < 1900 || y > 9999 || m < 1 ||
        m > 12 || d < 1 || d > days_in_month(y, m))
        throw UsageError("'" + t + "' is not a date (YYYY-MM-DD or RFC 3339 UTC)");
    return civil_day(y, m, d);
}

Holidays Holidays::federal() {
    Holidays h;
    h.source_ = "builtin: 5 U.S.C. 6103(a), observed per 6103(b)/E.O. 11582, no Inauguration Day";
    for (int y = 1990; y <= 2101; ++y)
        for (long d : holidays_of(y)) h.days_.insert(d);
    return h;
}

Holidays Holidays::load(const std::string& path) {
    std::string text = read_input_file_within<UsageError>(path, 1u << 20, "holiday list",
                                                          ": holiday list larger than 1 MiB");
    Holidays h;
    h.source_ = path + " (sha256 " + crypto::sha256_hex(text) + ")";
    std::size_t pos = 0, line_no = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        ++line_no;
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
            line.pop_back();
        std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos) continue;
        line = line.substr(start);
        if (line.size() != 10)
            throw UsageError(path + ":" + std::to_string(line_no) + ": '" + line +
                             "' is not a YYYY-MM-DD date");
        try {
            h.days_.insert(day_of(line));
        } catch (const UsageError&) {
            throw UsageError(path + ":" + std::to_string(line_no) + ": '" + line +
                             "' is not a YYYY-MM-DD date");
        }
    }
    return h;
}

bool Holidays::business_day(long day) const {
    int wd = weekday(day);
    return wd != 0 && wd != 6 && !contains(day);
}

long Holidays::add_business_days(long day, int n) const {
    while (n > 0) {
        ++day;
        if (business_day(day)) --n;
    }
    return day;
}

std::vector<std::string> Holidays::in_year(int year) const {
    std::vector<std::string> out;
    for (auto it = days_.lower_bound(civil_day(year, 1, 1));
         it != days_.end() && *it < civil_day(year + 1, 1, 1); ++it)
        out.push_back(civil_date(*it));
    return out;
}

std::vector<std::string> federal_holidays(int year) {
    std::set<long> days;
    for (int y : {year, year + 1})
        for (long d : holidays_of(y))
            if (d >= civil_day(year, 1, 1) && d < civil_day(year + 1, 1, 1)) days.insert(d);
    std::vector<std::string> out;
    for (long d : days) out.push_back(civil_date(d));
    return out;
}

json far_draft(const Articles& articles, const FarOptions& options) {
    json draft = far_draft_head(options);
    json records = json::array();
    for (const auto& a : articles.list()) records.push_back(far_record(a, options));
    draft["records"] = std::move(records);
    return draft;
}

json far_draft_head(const FarOptions& options) {
    return {{"clause", "FAR 52.204-23 (c)(2)"},
            {"draft", true},
            {"generated", options.generated},
            {"contract_number", options.contract},
            {"order_numbers", options.orders},
            {"submitted", options.submitted},
            {"submit_to", "the Contracting Officer, or for DoD contracts https://dibnet.dod.mil"},
            {"business_days",
             {{"report", 3}, {"followup", 10}, {"holidays", options.holidays.source()}}},
            {"records", json::array()}};
}

json far_record(const Article& a, const FarOptions& options) {
    const long generated = options.generated.empty() ? 0 : day_of(options.generated);
    const bool submitted = !options.submitted.empty();
    const long submitted_day = submitted ? day_of(options.submitted) : 0;
    // The finding scan's time (the host's clock), never later than the bundle's import
    // (ledger) or, for bundles given on the command line, the report's own time.
    std::string identified = a.first.finished, basis = "scan";
    const std::string bound =
        !a.first.imported_at.empty() ? a.first.imported_at : options.generated;
    if (identified.empty() || (!bound.empty() && day_of(bound) < day_of(identified))) {
        identified = bound;
        basis = a.first.imported_at.empty() ? "report" : "import";
    }
    const long id_day = day_of(identified);
    const long due = options.holidays.add_business_days(id_day, 3);
    // Follow-up: ten business days after the 3-day report went in; until it has (or for an
    // article identified after that submission), ten after the 3-day due date.
    const bool in_submission = submitted && submitted_day >= id_day;
    const long followup =
        options.holidays.add_business_days(in_submission ? submitted_day : due, 10);
    std::string model = a.version;
    if (!a.product_code.empty())
        model += (model.empty() ? "" : "; ") + std::string("MSI product code ") + a.product_code;
    std::string mitigation;
    if (a.status == "present")
        mitigation = "Found on " + a.hostname + "; removal planned" +
                     (a.uninstall_command.empty() ? "" : " (" + a.uninstall_command + ")") +
                     ", to be proven by a later verified scan.";
    else if (a.status == "removed")
        mitigation = "Removed from " + a.hostname +
                     ": a later verified scan proves it gone (signed removal attestation).";
    else
        mitigation =
            "Found on " + a.hostname + "; removal not yet proven (" + a.status + "): under review.";
    std::string description = a.name + (a.version.empty() ? "" : " " + a.version);
    if (!a.ecosystem.empty()) description += " (" + a.ecosystem + ")";
    description += " on host " + a.hostname;
    json rec = {{"contract_number", options.contract},
                {"order_numbers", options.orders},
                {"supplier_name", a.publisher},
                {"supplier_unique_entity_id", ""},
                {"brand", a.product_name},
                {"model_number", model},
                {"item_description", description},
                {"mitigation", mitigation},
                {"identified_at", identified},
                {"identification_basis", basis},
                {"identification_date", civil_date(id_day)},
                {"report_due", civil_date(due)},
                {"report_overdue", !in_submission && generated > due},
                {"followup_due", civil_date(followup)},
                {"followup_basis", in_submission ? "submitted" : "due_date"},
                {"host", a.host_key},
                {"hostname", a.hostname},
                {"product", a.product},
                {"family", a.family},
                {"status", a.status},
                {"where", a.where},
                {"rules", a.rules},
                {"evidence", {{"identified_by", a.first.to_json()}, {"latest", a.last.to_json()}}}};
    return rec;
}

std::string far_csv_header() {
    return "contract_number,order_numbers,supplier_name,supplier_unique_entity_id,brand,"
           "model_number,item_description,mitigation,identification_date,identified_at,"
           "identification_basis,report_due,followup_due,host,hostname,product,family,status,"
           "where,identified_by_statement_sha256,identified_by_bundle_sha256,"
           "latest_statement_sha256\r\n";
}

std::string render_far_csv(const json& draft) {
    std::string out = far_csv_header();
    for (const auto& r : draft.value("records", json::array())) out += far_csv_row(r);
    return out;
}

std::string far_csv_row(const json& r) {
    std::string orders;
    for (const auto& o : r.value("order_numbers", json::array()))
        if (o.is_string()) orders += (orders.empty() ? "" : " ") + o.get<std::string>();
    const json ev = r.value("evidence", json::object());
    const json first = ev.value("identified_by", json::object());
    const json last = ev.value("latest", json::object());
    std::string row;
    for (const std::string& v : {str(r, "contract_number"),
                                 orders,
                                 str(r, "supplier_name"),
                                 str(r, "supplier_unique_entity_id"),
                                 str(r, "brand"),
                                 str(r, "model_number"),
                                 str(r, "item_description"),
                                 str(r, "mitigation"),
                                 str(r, "identification_date"),
                                 str(r, "identified_at"),
                                 str(r, "identification_basis"),
                                 str(r, "report_due"),
                                 str(r, "followup_due"),
                                 str(r, "host"),
                                 str(r, "hostname"),
                                 str(r, "product"),
                                 str(r, "family"),
                                 str(r, "status"),
                                 str(r, "where"),
                                 str(first, "statement_sha256"),
                                 str(first, "sha256"),
                                 str(last, "statement_sha256")})
        row += (row.empty() ? "" : ",") + csv_field(v);
    return row + "\r\n";
}

}  // namespace audit::attest
