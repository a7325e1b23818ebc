// audit-attest report-diff: what changed between two fleet reports (report.json).
#include <sys/stat.h>

#include <iostream>

#include "attest_tool.h"
#include "audit/attest/report.h"
#include "audit/attest/report_statement.h"
#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/strict_json.h"

namespace audit::attest_tool {

namespace {

// A report.json (or its directory), read only once the report statement beside it verifies.
json load_report(const std::string& arg, const trust::TrustRoot& trust) {
    std::string dir = arg;
    struct stat st {};
    if (::stat(arg.c_str(), &st) != 0)
        throw audit::UsageError(arg + ": no such report (a report.json or its directory)");
    if (!S_ISDIR(st.st_mode)) {
        if (!arg.ends_with("report.json"))
            throw audit::UsageError(arg + " is not a report.json or a report directory");
        dir = arg.size() > 11 ? arg.substr(0, arg.size() - 12) : ".";
        if (dir.empty()) dir = "/";
    }
    const std::string bytes = audit::attest::read_verified_report(dir, trust).report_bytes;
    json j = json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("results"))
        throw audit::VerifyError(dir + "/report.json is not a report.json");
    return j;
}

std::string brief(const json& r) {
    std::string out = r.value("status", "");
    if (!r.value("removed_at", "").empty()) out += " (removed " + r.value("removed_at", "") + ")";
    std::string v;
    for (const auto& x : r.value("versions", json::array())) v += " " + x.get<std::string>();
    if (!v.empty()) out += " [" + v.substr(1) + "]";
    return out;
}

}  // namespace

int report_diff_cmd(int argc, char** argv) {
    audit::cli::Args args(
        argc, argv, "audit-attest report-diff", "--trust TRUST REPORT_A REPORT_B [--json]",
        {{"trust", "FILE", "trust root (trust.json)"},
         audit::cli::state_option(),
         {"json", "", "print the whole comparison on stdout"}},
        "Compares two reports (a report.json, or the directory holding it) of the same\n"
        "campaign: the status counts, and per host x product the pairs whose status, removal\n"
        "date, reason codes or versions found changed, the pairs only B has (added) and those\n"
        "only A has (gone). Each report is compared only once its report statement\n"
        "(report.statement.dsse.json beside report.json) verifies under TRUST with every file\n"
        "it signs. Exit 0 when nothing changed, 1 when something did, 2 on a usage error, 3\n"
        "when a report is unsigned or does not verify.");
    audit::cli::check_kit(args, "audit-attest");
    if (args.positional().size() != 2)
        throw audit::UsageError("report-diff takes two reports (see --help)");
    auto trust = audit::cli::load_trust(args, "audit-attest", "", args.has("json"));
    json d = audit::attest::report_diff(load_report(args.positional()[0], trust),
                                        load_report(args.positional()[1], trust));
    const bool same = d["changed"].empty() && d["added"].empty() && d["gone"].empty();
    if (args.has("json")) {
        std::cout << d.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
        for (const auto& [s, c] : d["counts"].items())
            std::cout << s << std::string(14 - std::min<std::size_t>(13, s.size()), ' ') << c["a"]
                      << " -> " << c["b"] << "\n";
        auto name = [](const json& r) {
            return r.value("hostname", "") + " (" + r.value("host", "") + ")  " +
                   r.value("product", "");
        };
        for (const auto& c : d["changed"])
            std::cout << "changed   " << name(c) << ": " << brief(c["from"]) << " -> "
                      << brief(c["to"]) << "\n";
        for (const auto& r : d["added"])
            std::cout << "added     " << name(r) << ": " << brief(r) << "\n";
        for (const auto& r : d["gone"])
            std::cout << "gone      " << name(r) << ": " << brief(r) << "\n";
        std::cout << "summary   " << d["changed"].size() << " changed, " << d["added"].size()
                  << " added, " << d["gone"].size() << " gone\n";
    }
    return static_cast<int>(same ? audit::Exit::clean : audit::Exit::attention);
}

}  // namespace audit::attest_tool
