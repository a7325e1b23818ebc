// audit-attest BUNDLES...: bundles verified and merged in memory; attestations and the report.
#include <cstring>

#include "audit/attest/attest.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"

#include "attest_tool.h"

namespace audit::attest_tool {

namespace {

constexpr const char* kSubcommands =
    "subcommands (each has --help):\n"
    "  import   verify bundles and record them in a ledger (SQLite)\n"
    "  report   compute every host x product status from a ledger; attestations + report\n"
    "  diff     what changed on a host between two bundles\n"
    "  report-diff  what changed between two reports (report.json)\n"
    "  export   a bundle's file digests as a sha256sum or hashdeep list\n"
    "  site-summary    sign a summary of a site's report with the site key\n"
    "  verify-summary  check a site summary (and its report.json)\n"
    "  rollup   HQ: verify site summaries and merge them into one report with a site column";

}  // namespace

// The first form: bundles given on the command line, merged in memory.
int attest_bundles(int argc, char** argv) {
    auto options = kReportOptions;
    options.push_back({"clock-tolerance", "SECONDS",
                       "bundles of different kits closer in time than this are not ordered by "
                       "their host clocks (default 3600)"});
    cli::Args args(
        argc, argv, "audit-attest",
        "--trust TRUST --key KEY --out OUTDIR BUNDLE|DIR|HEAD... [--clock-tolerance S] [--json]\n"
        "       audit-attest import|report|diff|export ...",
        options,
        "Verifies every bundle, merges them per host and product into removed, absent,\n"
        "present or inconclusive (with reasons), writes one signed attestation per host and\n"
        "product in OUTDIR/attestations/ and the report (report.json, report.csv, report.html).\n"
        "Also removal-plan.csv, a FAR 52.204-23 draft (far-52.204-23.json/.csv) and\n"
        "report.statement.dsse.json, the inspector's signature over all report files.\n"
        "Each kit's chain must be closed by its signed chain head (KIT.chain-head.dsse.json,\n"
        "given or found beside the bundles) before any host it scanned is removed or absent.\n"
        "Exit 0 when every status is removed or absent, 1 otherwise, 3 when a bundle or a\n"
        "chain head fails verification.\n\n" +
            std::string(kSubcommands));
    cli::check_kit(args, "audit-attest");
    attest::MergeOptions merge_options;
    merge_options.now = trust::utc_now();
    merge_options.clock_tolerance_s = cli::clock_tolerance(args);
    const attest::ReportOptions opt = report_options(args, args.get("out"), merge_options.now);
    merge_options.as_of = opt.as_of;
    auto far = far_options(args);
    far.generated = opt.as_of.empty() ? merge_options.now : opt.as_of;
    std::vector<std::string> bundle_args;
    for (const auto& a : args.positional())
        if (!a.ends_with(evidence::kChainHeadSuffix)) bundle_args.push_back(a);
    auto paths = bundle_paths(bundle_args);
    if (paths.empty()) throw UsageError("no bundles given (see --help)");
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    std::string out = args.required("out");
    auto key = inspector_key(args, trust);

    std::vector<attest::BundleSummary> summaries;
    attest::ReportContext context;
    context.trust_root = {{"version", trust.version}, {"sha256", trust.sha256}};
    ProgressBar bar("verifying");
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const auto& path = paths[i];
        try {
            auto b = evidence::read_bundle(path, trust, true);
            summaries.push_back(attest::summarize(b));
        } catch (const audit::Error& e) {
            context.rejected.push_back({{"file", path}, {"reason", e.what()}});
            std::cerr << "audit-attest: rejected " << path << ": " << e.what() << "\n";
        }
        bar(i + 1, paths.size());
    }
    // Chain heads: only verified ones count; one that does not verify is listed, never used.
    std::vector<evidence::ChainHead> heads;
    for (const auto& path : chain_head_paths(args.positional(), paths)) {
        try {
            auto head = evidence::read_chain_head(path, trust);
            heads.push_back(std::move(head));
        } catch (const audit::Error& e) {
            context.rejected.push_back({{"file", path}, {"reason", e.what()}});
            std::cerr << "audit-attest: rejected chain head " << path << ": " << e.what() << "\n";
        }
    }
    for (const auto& s : summaries)
        context.bundles.push_back({{"file", s.path},
                                   {"bundle_id", s.bundle_id},
                                   {"statement_sha256", s.statement_sha256},
                                   {"sha256", s.sha256},
                                   {"kit", s.kit_id},
                                   {"sequence", s.sequence},
                                   {"finished", s.finished}});
    attest::restrict_to_as_of(context, opt.as_of);
    // Plan and FAR articles per host as the merge grouped them (the same bundles, the same key).
    attest::Articles articles;
    articles.as_of = opt.as_of;
    auto statuses =
        attest::merge(summaries, heads, merge_options,
                      [&](const auto& host, const auto& st) { articles.collect(host, st); });
    context.removal_plan = attest::removal_plan(articles);
    context.far = attest::far_draft(articles, far);
    auto summary = attest::write_report(statuses, key, opt, context);
    if (args.has("json")) {
        cli::print_json(summary.report);
    } else {
        for (const auto& h : heads)
            std::cout << "chain     kit " << h.kit_id << " head at sequence " << h.sequence << " ("
                      << h.path << ")\n";
        print_results(summary.report, out);
    }
    if (!context.rejected.empty()) return static_cast<int>(Exit::verification);
    return static_cast<int>(summary.all_clear ? Exit::clean : Exit::attention);
}

}  // namespace audit::attest_tool
