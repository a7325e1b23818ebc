// audit-attest: verify bundles, merge them per host and product, write signed attestations
// and the fleet report; keep a campaign's evidence in a ledger; compare two bundles.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <set>

#include "audit/attest/attest.h"
#include "audit/attest/diff.h"
#include "audit/attest/far.h"
#include "audit/attest/ledger.h"
#include "audit/attest/report.h"
#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/trust/trust_root.h"
#include "cli.h"
#include "export.h"

int report_diff_cmd(int argc, char** argv);  // report_diff.cpp

namespace {

using nlohmann::json;
namespace attest = audit::attest;

constexpr const char* kSubcommands =
    "subcommands (each has --help):\n"
    "  import   verify bundles and record them in a ledger (SQLite)\n"
    "  report   compute every host x product status from a ledger; attestations + report\n"
    "  diff     what changed on a host between two bundles\n"
    "  report-diff  what changed between two reports (report.json)\n"
    "  export   a bundle's file digests as a sha256sum or hashdeep list";

bool has_suffix(const std::string& name, std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What the command line names: bundles, and chain heads (*.chain-head.dsse.json); a directory
// stands for the bundles and chain heads in it.
struct Inputs {
    std::vector<std::string> bundles, heads;
};

Inputs collect_inputs(const std::vector<std::string>& args) {
    Inputs out;
    const std::string_view head_suffix = audit::evidence::kChainHeadSuffix;
    for (const auto& a : args) {
        struct stat st {};
        if (::stat(a.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            (has_suffix(a, head_suffix) ? out.heads : out.bundles).push_back(a);
            continue;
        }
        DIR* d = ::opendir(a.c_str());
        if (!d) throw audit::IoError("cannot read directory " + a + ": " + std::strerror(errno));
        std::vector<std::string> bundles, heads;
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name[0] == '.') continue;
            if (has_suffix(name, audit::evidence::kBundleSuffix))
                bundles.push_back(a + "/" + name);
            else if (has_suffix(name, head_suffix))
                heads.push_back(a + "/" + name);
        }
        ::closedir(d);
        std::sort(bundles.begin(), bundles.end());
        std::sort(heads.begin(), heads.end());
        out.bundles.insert(out.bundles.end(), bundles.begin(), bundles.end());
        out.heads.insert(out.heads.end(), heads.begin(), heads.end());
    }
    return out;
}

std::string dir_name(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// The chain heads that come with the bundles: head files given on the command line, and those
// in every directory given or holding a given bundle.
std::vector<std::string> chain_head_paths(const std::vector<std::string>& args,
                                          const std::vector<std::string>& bundles) {
    std::vector<std::string> heads, dirs;
    for (const auto& a : args) {
        struct stat st {};
        if (::stat(a.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            dirs.push_back(a);
        else if (has_suffix(a, audit::evidence::kChainHeadSuffix))
            heads.push_back(a);
    }
    for (const auto& b : bundles) dirs.push_back(dir_name(b));
    std::set<std::pair<dev_t, ino_t>> seen_dirs;
    for (const auto& d : dirs) {
        struct stat st {};
        if (::stat(d.c_str(), &st) != 0 || !seen_dirs.insert({st.st_dev, st.st_ino}).second)
            continue;
        DIR* dir = ::opendir(d.c_str());
        if (!dir) throw audit::IoError("cannot read directory " + d + ": " + std::strerror(errno));
        std::vector<std::string> found;
        while (dirent* e = ::readdir(dir)) {
            std::string name = e->d_name;
            if (name[0] != '.' && has_suffix(name, audit::evidence::kChainHeadSuffix))
                found.push_back(d + "/" + name);
        }
        ::closedir(dir);
        std::sort(found.begin(), found.end());
        heads.insert(heads.end(), found.begin(), found.end());
    }
    // The same file named twice is read once.
    std::vector<std::string> out;
    std::set<std::pair<dev_t, ino_t>> seen;
    for (const auto& h : heads) {
        struct stat st {};
        if (::stat(h.c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
        out.push_back(h);
    }
    return out;
}

// Bundle paths from the command line; a directory stands for the bundles in it.
std::vector<std::string> bundle_paths(const std::vector<std::string>& args) {
    return collect_inputs(args).bundles;
}

// A one-line progress bar on stderr, redrawn at most ten times a second; only on a TTY.
class ProgressBar {
  public:
    explicit ProgressBar(std::string what)
        : what_(std::move(what)), on_(audit::cli::stderr_is_tty()) {}
    ~ProgressBar() {
        if (on_ && drawn_) std::cerr << "\n";
    }
    void operator()(std::size_t done, std::size_t total) {
        if (!on_) return;
        auto now = std::chrono::steady_clock::now();
        if (done != total && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        drawn_ = true;
        const std::size_t width = 30, fill = total ? done * width / total : width;
        std::cerr << "\r" << what_ << " [" << std::string(fill, '#')
                  << std::string(width - fill, ' ') << "] " << done << "/" << total << std::flush;
    }

  private:
    std::string what_;
    bool on_, drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

audit::crypto::SigningKey inspector_key(const audit::cli::Args& args,
                                        const audit::trust::TrustRoot& trust) {
    std::string key_path = args.required("key");
    std::optional<std::string> pass;
    if (audit::crypto::SigningKey::is_encrypted(key_path))
        pass = audit::cli::passphrase(args, "passphrase for " + key_path, false);
    auto key = audit::crypto::SigningKey::load(key_path, pass);
    auto role = trust.roles.find("inspector");
    if (role == trust.roles.end() ||
        std::find(role->second.keyids.begin(), role->second.keyids.end(), key.identity().keyid) ==
            role->second.keyids.end())
        throw audit::UsageError("key " + key_path + " is not an inspector key of the trust root");
    return key;
}

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

const std::vector<audit::cli::Option> kReportOptions = {
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
    audit::cli::state_option(),
    {"json", "", "print the report on stdout"}};

// The agency outputs' options (issue 17: removal plan, FAR 52.204-23 draft, title).
// Read before any bundle is verified, so that a malformed date or holiday list fails fast.
attest::FarOptions far_options(const audit::cli::Args& args) {
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

// --campaign-start, --as-of and --mark as report options.
attest::ReportOptions report_options(const audit::cli::Args& args, const std::string& out,
                                     const std::string& now) {
    attest::ReportOptions opt;
    opt.out_dir = out;
    opt.generated = now;
    opt.campaign_start = args.get("campaign-start");
    opt.title = args.get("title");
    if (args.has("as-of")) {
        opt.as_of = attest::end_of_day(args.get("as-of"));
        if (opt.as_of > now) throw audit::UsageError("--as-of " + opt.as_of + " is in the future");
    }
    if (args.has("mark")) {
        opt.marks.clear();
        for (const auto& m : args.all("mark")) opt.marks.push_back(attest::parse_mark(m));
    }
    return opt;
}

// The first form: bundles given on the command line, merged in memory.
int attest_bundles(int argc, char** argv) {
    auto options = kReportOptions;
    options.push_back({"clock-tolerance", "SECONDS",
                       "bundles of different kits closer in time than this are not ordered by "
                       "their host clocks (default 3600)"});
    audit::cli::Args args(
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
    attest::MergeOptions merge_options;
    merge_options.now = audit::trust::utc_now();
    merge_options.clock_tolerance_s = audit::cli::clock_tolerance(args);
    const attest::ReportOptions opt = report_options(args, args.get("out"), merge_options.now);
    merge_options.as_of = opt.as_of;
    auto far = far_options(args);
    far.generated = opt.as_of.empty() ? merge_options.now : opt.as_of;
    std::vector<std::string> bundle_args;
    for (const auto& a : args.positional())
        if (!has_suffix(a, audit::evidence::kChainHeadSuffix)) bundle_args.push_back(a);
    auto paths = bundle_paths(bundle_args);
    if (paths.empty()) throw audit::UsageError("no bundles given (see --help)");
    auto trust = audit::cli::load_trust(args, "audit-attest", "", args.has("json"));
    std::string out = args.required("out");
    auto key = inspector_key(args, trust);

    std::vector<attest::BundleSummary> summaries;
    attest::ReportContext context;
    context.trust_root = {{"version", trust.version}, {"sha256", trust.sha256}};
    ProgressBar bar("verifying");
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const auto& path = paths[i];
        try {
            auto b = audit::evidence::read_bundle(path, trust, true);
            summaries.push_back(attest::summarize(b));
        } catch (const audit::Error& e) {
            context.rejected.push_back({{"file", path}, {"reason", e.what()}});
            std::cerr << "audit-attest: rejected " << path << ": " << e.what() << "\n";
        }
        bar(i + 1, paths.size());
    }
    // Chain heads: only verified ones count; one that does not verify is listed, never used.
    std::vector<audit::evidence::ChainHead> heads;
    for (const auto& path : chain_head_paths(args.positional(), paths)) {
        try {
            auto head = audit::evidence::read_chain_head(path, trust);
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
                                   {"sequence", s.sequence}});
    auto statuses = attest::merge(summaries, heads, merge_options);
    attest::Articles articles;
    articles.as_of = opt.as_of;
    articles.collect_all(summaries, statuses);
    context.removal_plan = attest::removal_plan(articles);
    context.far = attest::far_draft(articles, far);
    auto summary = attest::write_report(statuses, key, opt, context);
    if (args.has("json")) {
        audit::cli::print_json(summary.report);
    } else {
        for (const auto& h : heads)
            std::cout << "chain     kit " << h.kit_id << " head at sequence " << h.sequence << " ("
                      << h.path << ")\n";
        print_results(summary.report, out);
    }
    if (!context.rejected.empty()) return static_cast<int>(audit::Exit::verification);
    return static_cast<int>(summary.all_clear ? audit::Exit::clean : audit::Exit::attention);
}

int import_cmd(int argc, char** argv) {
    audit::cli::Args args(
        argc, argv, "audit-attest import",
        "--ledger FILE --trust TRUST BUNDLE|HEAD|DIR... [--json]",
        {{"ledger", "FILE", "the ledger (SQLite); created when missing"},
         {"trust", "FILE", "trust root (trust.json)"},
         audit::cli::state_option(),
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
    auto inputs = collect_inputs(args.positional());
    if (inputs.bundles.empty() && inputs.heads.empty())
        throw audit::UsageError("no bundles given (see --help)");
    auto trust = audit::cli::load_trust(args, "audit-attest", "", args.has("json"));
    attest::Ledger ledger(args.required("ledger"), true);
    std::vector<attest::ImportOutcome> outcomes;
    {
        ProgressBar bar("importing");
        attest::ImportOptions options;
        options.chain_heads = inputs.heads;
        options.trust_path = args.required("trust");
        options.progress = std::ref(bar);
        outcomes = ledger.import(inputs.bundles, trust, options);
    }
    std::map<std::string, int> counts, head_counts;
    json list = json::array();
    for (const auto& o : outcomes) {
        (o.kind == "bundle" ? counts : head_counts)[attest::to_string(o.result)]++;
        list.push_back({{"file", o.file},
                        {"kind", o.kind},
                        {"sha256", o.sha256},
                        {"result", attest::to_string(o.result)},
                        {"detail", o.detail}});
        if (args.has("json")) continue;
        if (o.result == attest::ImportResult::rejected)
            std::cerr << "audit-attest: rejected " << o.file << ": " << o.detail << "\n";
        else if (!o.detail.empty())
            std::cout << attest::to_string(o.result) << "  " << o.file << ": " << o.detail << "\n";
    }
    auto stats = ledger.stats();
    if (args.has("json")) {
        audit::cli::print_json({{"outcomes", list},
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
    if (counts["rejected"] || head_counts["rejected"])
        return static_cast<int>(audit::Exit::verification);
    return static_cast<int>(counts["conflict"] || head_counts["conflict"] ? audit::Exit::attention
                                                                          : audit::Exit::clean);
}

int report_cmd(int argc, char** argv) {
    auto options = kReportOptions;
    options.insert(options.begin(), {"ledger", "FILE", "the ledger written by import"});
    options.push_back({"clock-tolerance", "SECONDS",
                       "bundles of one host from different kits closer in time than this are "
                       "not ordered by their clocks (default 3600)"});
    audit::cli::Args args(
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
    if (!args.positional().empty()) throw audit::UsageError("report takes no bundles (see --help)");
    const std::int64_t tolerance = audit::cli::clock_tolerance(args);
    auto far = far_options(args);
    auto trust = audit::cli::load_trust(args, "audit-attest", "", args.has("json"));
    std::string out = args.required("out");
    auto key = inspector_key(args, trust);
    attest::Ledger ledger(args.required("ledger"), false);
    ledger.check_authority(trust, args.required("trust"), false);

    const std::string now = audit::trust::utc_now();
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
    attest::FleetFacts fleet(verified.refs, verified.heads, merge_options);
    std::vector<attest::HostProductStatus> statuses;
    attest::Articles articles;
    articles.as_of = opt.as_of;
    ledger.for_each_host(verified, [&](std::vector<attest::BundleSummary>&& host) {
        std::vector<const attest::BundleSummary*> list;
        for (const auto& b : host) list.push_back(&b);
        auto st = attest::merge_host(list, fleet);
        articles.collect(list, st);
        std::move(st.begin(), st.end(), std::back_inserter(statuses));
    });
    attest::ReportContext context;
    context.trust_root = {
        {"version", trust.version}, {"sha256", trust.sha256}, {"authority", trust.authority}};
    context.bundles = verified.bundles;
    context.rejected = ledger.rejected();
    context.conflicts = verified.conflicts;
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
    context.removal_plan = attest::removal_plan(articles);
    far.generated = opt.as_of.empty() ? now : opt.as_of;
    context.far = attest::far_draft(articles, far);
    auto summary = attest::write_report(statuses, key, opt, context);
    if (args.has("json")) {
        audit::cli::print_json(summary.report);
    } else {
        const auto& c = summary.report["counts"];
        std::cout << "hosts         " << summary.report["hosts"] << "\n";
        for (const char* s : {"removed", "absent", "present", "inconclusive"})
            std::cout << s << std::string(14 - std::strlen(s), ' ') << c.value(s, 0) << "\n";
        if (!verified.not_verified.empty())
            std::cout << "not verified  " << verified.not_verified.size()
                      << " (stored evidence that no longer verifies; not used)\n";
        std::cout << "report        " << out << "/report.json, report.csv, report.html ("
                  << statuses.size() << " attestations)\n";
    }
    if (!verified.not_verified.empty()) return static_cast<int>(audit::Exit::verification);
    bool clean = summary.all_clear && context.rejected.empty() && context.conflicts.empty();
    return static_cast<int>(clean ? audit::Exit::clean : audit::Exit::attention);
}

int diff_cmd(int argc, char** argv) {
    audit::cli::Args args(
        argc, argv, "audit-attest diff", "--trust TRUST BUNDLE_A BUNDLE_B [--json]",
        {{"trust", "FILE", "trust root (trust.json)"},
         audit::cli::state_option(),
         {"json", "", "print the whole comparison on stdout"}},
        "Verifies both bundles and says what changed from A to B in hashdeep's audit terms:\n"
        "matched (same path and content), moved (A's content under another path), new,\n"
        "missing (A's content nowhere in B), changed (same path, other content); directories\n"
        "are left out. Then software items added, removed or changed, and products present.\n"
        "Exit 0 when nothing changed, 1 when something did, 3 when a bundle fails verification.");
    if (args.positional().size() != 2)
        throw audit::UsageError("diff takes two bundles (see --help)");
    auto trust = audit::cli::load_trust(args, "audit-attest", "", args.has("json"));
    auto a = audit::evidence::read_bundle(args.positional()[0], trust, true);
    auto b = audit::evidence::read_bundle(args.positional()[1], trust, true);
    auto d = attest::diff_bundles(a, b);
    if (args.has("json")) {
        audit::cli::print_json(d.to_json());
    } else {
        if (!d.same_host())
            std::cout << "warning   the bundles are of different hosts: " << d.host_a << " / "
                      << d.host_b << "\n";
        auto files = [](const char* what, const std::vector<attest::FileChange>& v) {
            for (const auto& c : v)
                std::cout << what << std::string(10 - std::strlen(what), ' ') << c.path
                          << (c.from_path.empty() ? "" : "  (from " + c.from_path + ")") << "\n";
        };
        files("moved", d.moved);
        files("new", d.added);
        files("missing", d.missing);
        files("changed", d.changed);
        for (const auto& i : d.items_added)
            std::cout << "+ item    " << i.ecosystem << " " << i.name << " " << i.version_b << "\n";
        for (const auto& i : d.items_removed)
            std::cout << "- item    " << i.ecosystem << " " << i.name << " " << i.version_a << "\n";
        for (const auto& i : d.items_changed)
            std::cout << "~ item    " << i.ecosystem << " " << i.name << " " << i.version_a << " ("
                      << i.state_a << ") -> " << i.version_b << " (" << i.state_b << ")\n";
        json c = d.to_json()["counts"];
        std::cout << "summary   matched " << c["matched"] << ", moved " << c["moved"] << ", new "
                  << c["new"] << ", missing " << c["missing"] << ", changed " << c["changed"]
                  << "; items +" << c["items_added"] << " -" << c["items_removed"] << " ~"
                  << c["items_changed"] << "\n";
    }
    return static_cast<int>(d.empty() ? audit::Exit::clean : audit::Exit::attention);
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run("audit-attest", [&] {
        std::string sub = argc > 1 ? argv[1] : "";
        // A subcommand parses the rest as its own command line (its name stands in for argv[0]).
        if (sub == "import") return import_cmd(argc - 1, argv + 1);
        if (sub == "report") return report_cmd(argc - 1, argv + 1);
        if (sub == "diff") return diff_cmd(argc - 1, argv + 1);
        if (sub == "report-diff") return report_diff_cmd(argc - 1, argv + 1);
        if (sub == "export") return audit::tools::export_cmd(argc - 1, argv + 1);
        return attest_bundles(argc, argv);
    });
}
