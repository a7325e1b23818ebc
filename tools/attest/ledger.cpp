// audit-attest import and report: a campaign's evidence kept in a ledger (SQLite).
#include <cstring>

#include "audit/attest/attest.h"
#include "audit/attest/ledger.h"
#include "audit/attest/report_stream.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/input_file.h"

#include "attest_tool.h"

namespace audit::attest_tool {

int import_cmd(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-attest import",
        "--ledger FILE --trust TRUST BUNDLE|HEAD|DIR... [--json]",
        {{"ledger", "FILE", "the ledger (SQLite); created when missing"},
         {"trust", "FILE", "trust root (trust.json)"},
         cli::state_option(),
         {"json", "", "print every bundle's outcome and the ledger totals on stdout"}},
        "Verifies every bundle and chain head (*.chain-head.dsse.json; a directory stands for\n"
        "the bundles and heads in it) and records them in the ledger, all in one transaction:\n"
        "an interrupted import leaves the ledger as it was. A bundle already recorded (same\n"
        "signed statement) changes nothing; a bundle holding a kit sequence that another\n"
        "statement already holds is recorded and flagged as a conflict; a bundle that fails\n"
        "verification is recorded as rejected. Per kit the highest verified head is kept.\n"
        "One ledger holds the evidence of one authority: the first import pins the trust\n"
        "root's authority, and an import under another authority (or an older or forked root)\n"
        "is refused.\n"
        "Exit 0 when all were recorded, 1 when a conflict was flagged, 3 when one was rejected\n"
        "or the trust root is not the ledger's authority.");
    cli::check_kit(args, "audit-attest");
    auto inputs = collect_inputs(args.positional());
    if (inputs.bundles.empty() && inputs.heads.empty())
        throw UsageError("no bundles given (see --help)");
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    attest::Ledger ledger(args.required("ledger"), true);
    // Outcomes are counted and printed as they come (the list is kept only for --json): memory
    // does not grow with the number of bundles.
    std::map<std::string, int> counts, head_counts;
    json list = json::array();
    {
        ProgressBar bar("importing");
        attest::ImportOptions options;
        options.chain_heads = inputs.heads;
        options.trust_path = args.required("trust");
        options.progress = std::ref(bar);
        options.on_outcome = [&](attest::ImportOutcome&& o) {
            (o.kind == "bundle" ? counts : head_counts)[attest::to_string(o.result)]++;
            if (args.has("json")) {
                list.push_back({{"file", o.file},
                                {"kind", o.kind},
                                {"sha256", o.sha256},
                                {"result", attest::to_string(o.result)},
                                {"detail", o.detail}});
                return;
            }
            if (o.result == attest::ImportResult::rejected || !o.detail.empty()) bar.interrupt();
            if (o.result == attest::ImportResult::rejected)
                std::cerr << "audit-attest: rejected " << o.file << ": " << o.detail << "\n";
            else if (!o.detail.empty())
                std::cout << attest::to_string(o.result) << "  " << o.file << ": " << o.detail
                          << "\n";
        };
        ledger.import(inputs.bundles, trust, options);
    }
    auto stats = ledger.stats();
    if (args.has("json")) {
        cli::print_json({{"outcomes", list},
                         {"counts", counts},
                         {"chain_heads", head_counts},
                         {"ledger", stats.to_json()},
                         {"authority", ledger.authority()}});
    } else {
        std::cout << "imported  " << counts["added"] + counts["conflict"] << " new ("
                  << counts["conflict"] << " conflicting), " << counts["duplicate"]
                  << " already recorded, " << counts["rejected"] << " rejected\n";
        if (!inputs.heads.empty())
            std::cout << "heads     " << head_counts["added"] << " new, "
                      << head_counts["duplicate"] << " not newer, " << head_counts["conflict"]
                      << " conflicting, " << head_counts["rejected"] << " rejected\n";
        std::cout << "ledger    " << args.get("ledger") << ": " << stats.bundles << " bundles, "
                  << stats.hosts << " hosts, " << stats.chain_heads << " chain heads, "
                  << stats.conflicts << " conflicts, " << stats.rejected << " rejected\n";
    }
    if (counts["rejected"] || head_counts["rejected"]) return static_cast<int>(Exit::verification);
    return static_cast<int>(counts["conflict"] || head_counts["conflict"] ? Exit::attention
                                                                          : Exit::clean);
}

int report_cmd(int argc, char** argv) {
    auto options = kReportOptions;
    options.insert(options.begin(), {"ledger", "FILE", "the ledger written by import"});
    options.push_back({"clock-tolerance", "SECONDS",
                       "bundles of one host from different kits closer in time than this are "
                       "not ordered by their clocks (default 3600)"});
    cli::Args args(
        argc, argv, "audit-attest report",
        "--ledger FILE --trust TRUST --key KEY --out OUTDIR [--campaign-start DATE]\n"
        "       [--as-of DATE] [--mark DAY:KIND[:LABEL]]... [--clock-tolerance SECONDS] [--json]",
        options,
        "Computes every host x product status from the ledger alone (the bundle files are not\n"
        "needed), with the same rules as the first form, and writes the signed attestations\n"
        "and the report: report.json, report.csv and report.html (one offline page).\n"
        "Also removal-plan.csv, a FAR 52.204-23 draft (far-52.204-23.json/.csv) and\n"
        "report.statement.dsse.json, the inspector's signature over all report files.\n"
        "The ledger is not trusted: every stored signed statement and chain head is verified\n"
        "again under the trust root given now (revocations included) and every fact comes\n"
        "from what verifies; what does not is listed as not_verified and never used.\n"
        "Exit 0 when every status is removed or absent and the ledger holds no rejected or\n"
        "conflicting bundle, 1 otherwise, 3 when stored evidence no longer verifies or the\n"
        "trust root is not the ledger's authority.");
    cli::check_kit(args, "audit-attest");
    if (!args.positional().empty()) throw UsageError("report takes no bundles (see --help)");
    const std::int64_t tolerance = cli::clock_tolerance(args);
    auto far = far_options(args);
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    std::string out = args.required("out");
    auto key = inspector_key(args, trust);
    attest::Ledger ledger(args.required("ledger"), false);
    ledger.check_authority(trust, args.required("trust"), false);

    const std::string now = trust::utc_now();
    const attest::ReportOptions opt = report_options(args, out, now);
    attest::VerifiedLedger verified;
    {
        ProgressBar bar("verifying");
        verified = ledger.verify(trust, now, std::ref(bar));
    }
    for (const auto& nv : verified.not_verified)
        std::cerr << "audit-attest: not verified: " << nv.kind << " " << nv.file << ": "
                  << nv.reason << "\n";
    attest::MergeOptions merge_options;
    merge_options.now = now;
    merge_options.clock_tolerance_s = tolerance;
    merge_options.as_of = opt.as_of;
    const attest::FleetFacts fleet = verified.facts(merge_options);
    // Streamed: one host's evidence and results at a time; memory does not hold the fleet's.
    far.generated = opt.as_of.empty() ? now : opt.as_of;
    attest::ReportStream stream(key, opt, far);
    ledger.for_each_host(verified, [&](std::vector<attest::BundleSummary>&& host) {
        std::vector<const attest::BundleSummary*> list;
        for (const auto& b : host) list.push_back(&b);
        auto statuses = attest::merge_host(list, fleet);
        attest::hold_back_for_unverified(statuses, verified.not_verified.size());
        stream.add_host(list, statuses);
    });
    attest::ReportContext context;
    context.trust_root = {
        {"version", trust.version}, {"sha256", trust.sha256}, {"authority", trust.authority}};
    context.rejected = ledger.rejected();
    context.conflicts = verified.conflicts;
    attest::restrict_to_as_of(context, opt.as_of);
    for (const auto& nv : verified.not_verified) context.not_verified.push_back(nv.to_json());
    json heads = json::array();
    for (const auto& h : verified.heads)
        heads.push_back({{"kit", h.kit_id},
                         {"sequence", h.sequence},
                         {"statement_sha256", h.statement_sha256},
                         {"file", h.path}});
    context.ledger = ledger.stats().to_json();
    context.ledger["chain_heads_verified"] = heads;
    context.ledger["clock_tolerance_s"] = tolerance;
    auto summary = stream.finish(
        context, [&](const std::function<void(const json&)>& fn) { verified.for_each_bundle(fn); });
    if (args.has("json")) {
        // The whole report.json (read back: memory grows with the fleet only when asked).
        cli::print_json(json::parse(
            read_input_file(out + "/report.json", std::size_t{4} << 30, "report.json")));
    } else {
        const auto& c = summary.report["counts"];
        std::cout << "hosts         " << summary.report["hosts"] << "\n";
        for (const char* s : {"removed", "absent", "present", "inconclusive"})
            std::cout << s << std::string(14 - std::strlen(s), ' ') << c.value(s, 0) << "\n";
        if (!verified.not_verified.empty())
            std::cout << "not verified  " << verified.not_verified.size()
                      << " (stored evidence that no longer verifies; not used)\n";
        std::cout << "report        " << out << "/report.json, report.csv, report.html ("
                  << stream.results() << " attestations)\n";
    }
    if (!verified.not_verified.empty()) return static_cast<int>(Exit::verification);
    bool clean = summary.all_clear && context.rejected.empty() && context.conflicts.empty();
    return static_cast<int>(clean ? Exit::clean : Exit::attention);
}

}  // namespace audit::attest_tool
