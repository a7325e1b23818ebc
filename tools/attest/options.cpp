// audit-attest: the report's options and its summary on the terminal.
#include <algorithm>

#include "audit/error.h"

#include "attest_tool.h"

namespace audit::attest_tool {

void print_results(const json& report, const std::string& out) {
    for (const auto& r : report["results"]) {
        const std::string status = r["status"].get<std::string>();
        std::cout << status << std::string(14 - std::min<std::size_t>(13, status.size()), ' ')
                  << r["hostname"].get<std::string>() << "  " << r["product"].get<std::string>();
        if (!r["reasons"].empty())
            std::cout << "  reasons: "
                      << r["reasons"].dump(-1, ' ', false,
                                           nlohmann::json::error_handler_t::replace);
        if (!r["residue"].empty())
            std::cout << "  (residue left: " << r["residue"].size() << " finding(s))";
        std::cout << "\n";
    }
    std::cout << "report    " << out << "/report.json, report.csv, report.html ("
              << report["results"].size() << " host x product, " << report["rejected"].size()
              << " bundle(s) rejected)\n";
}

const std::vector<cli::Option> kReportOptions = {
    {"trust", "FILE", "trust root (trust.json)"},
    {"key", "FILE", "inspector signing key"},
    {"out", "DIR", "where report.json/.csv/.html and attestations/ are written"},
    {"campaign-start", "DATE", "day 0 of the 30/60/90-day marks (default: earliest scan)"},
    {"as-of", "DATE", "point-in-time report: only bundles whose scan finished by DATE"},
    {"mark", "DAY:KIND[:LABEL]",
     "a campaign milestone (repeatable; replaces 30:identify, 60:plan, 90:begin-removal); "
     "KIND: identify, plan, begin-removal, removed, none",
     true},
    {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
    {"title", "TEXT", "agency / campaign title of report.html"},
    {"contract", "NUMBER", "FAR 52.204-23 draft: the contract number"},
    {"order", "NUMBER", "FAR 52.204-23 draft: an order number (repeatable)", true},
    {"submitted", "DATE", "FAR 52.204-23: the day the 3-day report was submitted"},
    {"holidays", "FILE", "federal holidays, one YYYY-MM-DD a line (default: built-in OPM rules)"},
    cli::state_option(),
    {"json", "", "print the report on stdout"}};

attest::FarOptions far_options(const cli::Args& args) {
    attest::FarOptions o;
    o.contract = args.get("contract");
    for (const auto& v : args.all("order"))
        for (std::size_t pos = 0; pos <= v.size();) {
            std::size_t comma = std::min(v.find(',', pos), v.size());
            if (comma > pos) o.orders.push_back(v.substr(pos, comma - pos));
            pos = comma + 1;
        }
    o.submitted = args.get("submitted");
    if (!o.submitted.empty()) attest::day_of(o.submitted);  // a malformed date: usage error
    if (args.has("holidays")) o.holidays = attest::Holidays::load(args.get("holidays"));
    return o;
}

attest::ReportOptions report_options(const cli::Args& args, const std::string& out,
                                     const std::string& now) {
    attest::ReportOptions opt;
    opt.out_dir = out;
    opt.generated = now;
    opt.campaign_start = args.get("campaign-start");
    opt.title = args.get("title");
    if (args.has("as-of")) {
        opt.as_of = attest::end_of_day(args.get("as-of"));
        if (opt.as_of > now) throw UsageError("--as-of " + opt.as_of + " is in the future");
    }
    if (args.has("mark")) {
        opt.marks.clear();
        for (const auto& m : args.all("mark")) opt.marks.push_back(attest::parse_mark(m));
    }
    return opt;
}

}  // namespace audit::attest_tool
