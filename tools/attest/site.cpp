// audit-attest site-summary and verify-summary: a site's signed summary of its report, and its
// check (README "Beyond one workstation", step 2).
#include <sys/stat.h>

#include "attest_tool.h"
#include "audit/attest/site.h"
#include "audit/error.h"
#include "audit/input_file.h"

namespace audit::attest_tool {

namespace {

constexpr std::size_t kMaxSummary = std::size_t{256} << 20;
constexpr std::size_t kMaxReport = std::size_t{4} << 30;

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::uint64_t parse_sequence(const std::string& text) {
    try {
        std::size_t used = 0;
        auto v = std::stoull(text, &used);
        if (used == text.size() && v >= 1 && text[0] != '-') return v;
    } catch (const std::exception&) {
    }
    throw UsageError("--sequence needs a whole number from 1, got '" + text + "'");
}

}  // namespace

SummaryFiles summary_files(const std::string& arg) {
    SummaryFiles f;
    if (is_dir(arg)) {
        f.summary = arg + "/" + std::string(attest::kSiteSummaryFile);
        f.report = arg + "/report.json";
        return f;
    }
    f.summary = arg;
    f.report = attest::site_report_path(arg);
    return f;
}

attest::RollupInput read_summary(const SummaryFiles& f, const trust::TrustRoot& trust,
                                 bool need_report) {
    attest::RollupInput in;
    in.summary =
        attest::verify_site_summary(read_input_file(f.summary, kMaxSummary, "site summary"), trust);
    in.summary.file = f.summary;
    if (auto bytes = f.report.empty()
                         ? std::nullopt
                         : read_input_file_if_exists(f.report, kMaxReport, "report.json")) {
        attest::check_site_report(in.summary, *bytes);
        in.report = json::parse(*bytes, nullptr, false);
        if (in.report.is_discarded() || !in.report.is_object())
            throw VerifyError(f.report + " is not a report.json");
    } else if (need_report) {
        throw UsageError("no report.json beside " + f.summary);
    }
    return in;
}

int site_summary_cmd(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-attest site-summary",
        "--trust TRUST --key SITE_KEY --certificate SITE.cert.json REPORT_DIR [--sequence N]",
        {{"trust", "FILE", "trust root (trust.json)"},
         {"key", "FILE", "the site key (the one the site certificate names)"},
         {"certificate", "FILE", "the site certificate (audit-keys certify-site)"},
         {"sequence", "N", "this summary's number for the site (default: the last issued + 1)"},
         {"site-state", "FILE", "where the last sequence issued per site is kept"},
         {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
         cli::state_option(),
         {"json", "", "print the signed statement on stdout"}},
        "Verifies the report in REPORT_DIR (report.statement.dsse.json and every file it\n"
        "signs), then signs with the site key a summary of it into\n"
        "REPORT_DIR/site-summary.dsse.json: an in-toto Statement whose subject is report.json\n"
        "and whose predicate holds the site, the trust root, the sequence, the counts per\n"
        "product and status, per host x product the digests of the host's identifiers with\n"
        "its status and attestation digest, the kit chains' heads and the rejected and\n"
        "conflicting bundles. Send it (with report.json, if the transfer allows) to HQ's\n"
        "audit-attest rollup. Exit 0 when signed, 2 on a usage error, 3 when the report does\n"
        "not verify.");
    cli::check_kit(args, "audit-attest");
    if (args.positional().size() != 1)
        throw UsageError("site-summary takes one report directory (see --help)");
    const std::string dir = args.positional()[0];
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    const std::string cert = read_input_file(args.required("certificate"), 1u << 20, "certificate");
    const auto key = cli::load_key(args, args.required("key"));
    const std::string state_path =
        args.get("site-state", attest::default_site_state_path("site-summary-state.json"));
    auto state = attest::SiteState::load(state_path);
    const auto site = trust::verify_site_certificate(trust, cert).site;
    const std::uint64_t seq = args.has("sequence") ? parse_sequence(args.get("sequence"))
                                                   : state.sites[site].sequence + 1;
    const std::string now = trust::utc_now();
    json st = attest::write_site_summary(dir, trust, key, cert, seq, now);
    state.sites[site] = {seq, crypto::sha256_hex(st.dump()), now};
    state.save(state_path);
    if (args.has("json")) {
        cli::print_json(st);
    } else {
        std::cout << "site      " << site << " sequence " << seq << "\n";
        for (const auto& [product, c] : st["predicate"]["counts"].items())
            std::cout << "product   " << product << " " << c.dump() << "\n";
        std::cout << "summary   " << dir << "/" << attest::kSiteSummaryFile << " ("
                  << st["predicate"]["hosts"].size() << " hosts)\n";
    }
    return 0;
}

int verify_summary_cmd(int argc, char** argv) {
    cli::Args args(argc, argv, "audit-attest verify-summary", "--trust TRUST SUMMARY|DIR [--json]",
                   {{"trust", "FILE", "trust root (trust.json)"},
                    cli::state_option(),
                    {"json", "", "print what verified on stdout"}},
                   "Checks a site summary: the site certificate under the trust root (root role,\n"
                   "this authority), the signature by the key it delegates to that site, inside\n"
                   "its window; and report.json beside it (DIR/report.json, or PREFIX.report.json\n"
                   "for PREFIX.site-summary.dsse.json) against the digest the summary signs.\n"
                   "Exit 0 when it verifies, 3 when not, 2 on a usage error.");
    cli::check_kit(args, "audit-attest");
    if (args.positional().size() != 1)
        throw UsageError("verify-summary takes one summary or directory (see --help)");
    auto trust = cli::load_trust(args, "audit-attest", "", args.has("json"));
    const auto in = read_summary(summary_files(args.positional()[0]), trust, false);
    const auto& s = in.summary;
    json out = {{"site", s.site},
                {"sequence", s.sequence},
                {"generated", s.generated},
                {"site_keyid", s.site_keyid},
                {"report_sha256", s.report_sha256},
                {"report_checked", !in.report.is_null()},
                {"counts", s.predicate["counts"]}};
    if (args.has("json")) {
        cli::print_json(out);
    } else {
        std::cout << "verified  site " << s.site << " sequence " << s.sequence << " ("
                  << s.generated << ", key " << s.site_keyid.substr(0, 16) << ")\n"
                  << "report    " << (in.report.is_null() ? "not given" : "matches") << "\n";
    }
    return 0;
}

}  // namespace audit::attest_tool
