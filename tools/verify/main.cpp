// audit-verify: check bundles, attestations and trust roots against a trust root.
#include <algorithm>
#include <iostream>

#include "audit/error.h"
#include "audit/evidence/extract.h"
#include "cli.h"
#include "verify_tool.h"

namespace {

using namespace audit::verify_tool;
namespace attest = audit::attest;

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run("audit-verify", argc, argv, [&] {
        audit::cli::Args args(
            argc, argv, "audit-verify", "--trust TRUST FILE... [--json]",
            {{"trust", "FILE", "trust root (trust.json)"},
             audit::cli::state_option(),
             {"clock-tolerance", "SECONDS",
              "as audit-attest's, for recomputing attestations (default 3600)"},
             {"extract", "DIR",
              "after it verified, write the one bundle's files into DIR (new or empty)"},
             {"print-statement", "",
              "after it verified, print the one bundle's or attestation's signed statement"},
             {"jobs", "N", "bundles verified at once (default: one per CPU)"},
             {"json", "", "print one JSON document on stdout"}},
            "Verifies evidence bundles (*.evidence.tar.zst), chain heads\n"
            "(*.chain-head.dsse.json; a directory stands for the bundles and heads in it),\n"
            "removal attestations (*.dsse.json), report statements (report.statement.dsse.json:\n"
            "every report file beside it must match its signed digest), collector\n"
            "certificates, signed manifests (*.toml with their .dsse.json) and trust roots.\n"
            "A trust-root document must be the trust root in use or a successor of it (same\n"
            "authority, walked through root-history/): another authority's root, an older\n"
            "version or another document of the same version is refused. A bundle signed over\n"
            "unsigned manifests or from an unverified kit verifies, and its OK line says it\n"
            "cannot support removed/absent. Given bundles (and chain heads) with attestations,\n"
            "every attestation's evidence must be among those bundles and its status is\n"
            "recomputed from them under the trust root given now: a mismatch is refused.\n"
            "Bundles are verified by --jobs workers at once; each result is printed in the\n"
            "order given and is that bundle's own (one bad bundle changes no other's line).\n"
            "--extract DIR and --print-statement take one bundle (or, for --print-statement,\n"
            "one attestation) and act only once it verified; their OK/INVALID line goes to\n"
            "stderr. --extract refuses a DIR that exists and is not empty.\n"
            "Exit 0 when all are valid, 3 otherwise.");
        audit::cli::check_kit(args, "audit-verify");
        if (args.positional().empty()) throw audit::UsageError("no files to verify (see --help)");
        auto trust = audit::cli::load_trust(args, "audit-verify", "", args.has("json"));
        Context ctx{trust, args.required("trust"), "", false, {}, {}, {}, 3600, {}, false, {}, {},
                    {}};
        ctx.trust_bytes = read_small(ctx.trust_path, 16u << 20);
        if (audit::crypto::sha256_hex(ctx.trust_bytes) != trust.sha256)
            throw audit::VerifyError(ctx.trust_path + " changed while it was being used");
        ctx.clock_tolerance_s = audit::cli::clock_tolerance(args);
        const bool extract = args.has("extract"), print_statement = args.has("print-statement");
        if (extract || print_statement) {
            if (args.positional().size() != 1)
                throw audit::UsageError("--extract and --print-statement take one file");
            if (args.has("json"))
                throw audit::UsageError("--print-statement and --extract do not go with --json");
            if (extract) audit::evidence::check_extract_dir(args.get("extract"));
            ctx.keep_files = true;
        }
        json results = json::array();
        audit::Exit worst = audit::Exit::clean;
        // Bundles first, then chain heads, so that attestations can be checked against them.
        std::vector<std::string> paths = expand_directories(args.positional());
        std::stable_sort(paths.begin(), paths.end(),
                         [](const std::string& a, const std::string& b) {
                             auto rank = [](const std::string& p) {
                                 return is_bundle(p) ? 0 : is_head(p) ? 1 : 2;
                             };
                             return rank(a) < rank(b);
                         });
        bool have_bundles = false;
        for (const auto& p : paths) {
            have_bundles = have_bundles || is_bundle(p);
            ctx.keep_summaries =
                ctx.keep_summaries || (!is_bundle(p) && !is_head(p) && !p.ends_with(".toml"));
        }
        ctx.keep_summaries = ctx.keep_summaries && have_bundles;
        // The bundles (the costly part) by a pool of workers; their outcomes are applied to the
        // context below in input order, so that the result is the same whatever --jobs.
        std::vector<std::string> bundle_paths;
        for (const auto& p : paths)
            if (is_bundle(p)) bundle_paths.push_back(p);
        auto outcomes = verify_bundles(bundle_paths, ctx, audit::cli::jobs(args));
        std::size_t next_bundle = 0;
        for (const auto& path : paths) {
            json r;
            std::optional<audit::attest::Attestation> attestation;
            try {
                if (is_bundle(path)) {
                    auto& outcome = outcomes.at(next_bundle++);
                    if (outcome.unexpected) std::rethrow_exception(outcome.unexpected);
                    if (!outcome.error.empty()) throw audit::Error(outcome.failure, outcome.error);
                    r = apply_bundle(outcome, ctx);
                } else {
                    r = verify_one(path, ctx, &attestation);
                }
                if (attestation && have_bundles) {
                    attest::check_evidence(*attestation, ctx.bundle_ids);
                    r["detail"]["evidence_checked"] = true;
                    r["detail"]["recomputed"] = recompute(*attestation, ctx);
                }
                r["valid"] = true;
            } catch (const audit::Error& e) {
                r = {{"file", path}, {"valid", false}, {"error", e.what()}};
                audit::Exit code =
                    e.exit() == audit::Exit::io ? audit::Exit::io : audit::Exit::verification;
                if (static_cast<int>(code) < static_cast<int>(worst) || worst == audit::Exit::clean)
                    worst = code;  // verification failures (3) outrank I/O errors (4)
            }
            results.push_back(r);
        }
        if ((extract || print_statement) && worst == audit::Exit::clean) {
            const auto& r = results.at(0);
            const std::string kind = r["kind"].get<std::string>();
            if (kind != "bundle" && (extract || kind != "attestation"))
                throw audit::UsageError(
                    r["file"].get<std::string>() + " is a " + kind +
                    (extract ? ", not a bundle" : ", not a bundle or attestation"));
            if (extract) {
                std::vector<std::string> names;
                for (const auto& subject : ctx.subjects) names.push_back(str(subject, "name"));
                audit::evidence::extract_files(args.get("extract"), names, ctx.files);
            }
            if (print_statement) std::cout << ctx.payload << std::flush;
            std::cerr << "OK       " << r["file"].get<std::string>() << " (" << kind
                      << (extract ? ", extracted to " + args.get("extract") : std::string())
                      << ")\n";
            return 0;
        }
        if (extract || print_statement) {
            const auto& r = results.at(0);
            std::cerr << "INVALID  " << r["file"].get<std::string>() << ": "
                      << r.value("error", std::string()) << " (nothing extracted or printed)\n";
            return static_cast<int>(worst);
        }
        if (args.has("json")) {
            audit::cli::print_json({{"valid", worst == audit::Exit::clean}, {"results", results}});
        } else {
            for (const auto& r : results) {
                if (!r["valid"].get<bool>()) {
                    std::cout << "INVALID  " << r["file"].get<std::string>() << ": "
                              << r["error"].get<std::string>() << "\n";
                    continue;
                }
                print_ok_line(r);
            }
        }
        return static_cast<int>(worst);
    });
}
