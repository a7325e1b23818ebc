// audit-attest rollup: HQ verifies site summaries and merges them into one report with the site
// as a column (README "Beyond one workstation", step 3).
#include <filesystem>

#include "attest_tool.h"
#include "audit/attest/report_statement.h"
#include "audit/attest/site.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"

namespace audit::attest_tool {

int rollup_cmd(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-attest rollup",
        "--trust TRUST --key KEY --out OUTDIR SUMMARY|DIR... [--site-state FILE] [--json]",
        {{"trust", "FILE", "trust root (trust.json)"},
         {"key", "FILE", "HQ's inspector key (signs the roll-up's report statement)"},
         {"out", "DIR", "where report.json/.csv/.html of the roll-up are written"},
         {"site-state", "FILE", "the last accepted summary per site (default in the state dir)"},
         {"title", "TEXT", "agency title of report.html"},
         {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
         cli::state_option(),
         {"json", "", "print the roll-up report on stdout"}},
        "Verifies each site summary (a SITE.site-summary.dsse.json, or a directory holding\n"
        "site-summary.dsse.json) against the trust root and the site certificate it carries,\n"
        "and the site's report.json beside it, when there, against the digest the summary\n"
        "signs. Per site the highest sequence counts; one older than the last accepted for its\n"
        "site (or as old, with other content) is refused: the site state file remembers them.\n"
        "Writes report.json, report.csv and report.html with the site as a column (rows from\n"
        "report.json, else from the summary's digests) and report.statement.dsse.json signed\n"
        "by KEY. A host identifier reported by two sites makes those rows inconclusive\n"
        "(site_identity_conflict), never one merged host.\n"
        "Exit 0 when every status is removed or absent, 1 otherwise (or a conflict), 3 when\n"
        "a summary or report.json does not verify or a summary is refused, 2 on usage errors.");
    cli::check_kit(args, "audit-attest");
    if (args.positional().empty()) throw UsageError("no site summaries given (see --help)");
    const std::string out = args.required("out");
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    auto key = inspector_key(args, trust);
    const std::string state_path =
        args.get("site-state", attest::default_site_state_path("rollup-state.json"));
    auto state = attest::SiteState::load(state_path);

    std::vector<attest::RollupInput> inputs;
    json rejected = json::array();
    for (const auto& arg : args.positional()) {
        const auto files = summary_files(arg);
        try {
            inputs.push_back(read_summary(files, trust, false));
        } catch (const VerifyError& e) {
            rejected.push_back({{"file", files.summary}, {"reason", e.what()}});
            std::cerr << "audit-attest: rejected site summary " << files.summary << ": " << e.what()
                      << "\n";
        }
    }
    auto selection = attest::select_summaries(std::move(inputs), state);
    for (const auto& r : selection.refused)
        std::cerr << "audit-attest: refused site summary " << r["file"].get<std::string>() << ": "
                  << r["reason"].get<std::string>() << "\n";
    const std::string now = trust::utc_now();
    json report = attest::rollup_report(selection, trust, now, rejected);
    const bool all_clear = report["all_clear"].get<bool>();
    report.erase("all_clear");
    report["inspector_keyid"] = key.identity().keyid;
    if (args.has("title")) report["title"] = args.get("title");
    std::filesystem::create_directories(out);
    evidence::write_file_atomic(out + "/report.json",
                                report.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    evidence::write_file_atomic(out + "/report.csv", attest::render_csv(report));
    evidence::write_file_atomic(out + "/report.html", attest::render_html(report));
    attest::sign_report_files(out, {"report.json", "report.csv", "report.html"}, key,
                              {{"generated", now}, {"kind", "rollup"}});
    state.save(state_path);
    if (args.has("json")) {
        cli::print_json(report);
    } else {
        for (const auto& s : report["sites"])
            std::cout << "site      " << s["site"].get<std::string>() << " sequence "
                      << s["sequence"] << " (" << s["generated"].get<std::string>() << ", "
                      << (s["report_included"].get<bool>() ? "report.json" : "summary only")
                      << ")\n";
        for (const auto& c : report["conflicts"])
            if (c.value("kind", "") == "site_identity_conflict")
                std::cout << "conflict  an identifier reported by sites " << c["sites"].dump()
                          << "\n";
        const auto& c = report["counts"];
        std::cout << "hosts     " << report["hosts"] << "  removed " << c["removed"] << ", absent "
                  << c["absent"] << ", present " << c["present"] << ", inconclusive "
                  << c["inconclusive"] << "\n"
                  << "report    " << out << "/report.json, report.csv, report.html\n";
    }
    if (!rejected.empty() || !selection.refused.empty())
        return static_cast<int>(Exit::verification);
    const bool conflicts = !report["conflicts"].empty();
    return static_cast<int>(all_clear && !conflicts ? Exit::clean : Exit::attention);
}

}  // namespace audit::attest_tool
