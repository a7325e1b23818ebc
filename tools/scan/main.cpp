// audit-scan: enumerate, hash and match a root read-only; write one signed evidence bundle.
#ifndef _WIN32
#include <sys/resource.h>
#endif
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/fs/walker.h"
#ifdef _WIN32
#include "windows_scan.h"
#else
#include "audit/fs/landlock.h"
#include "audit/sources/live.h"
#endif
#include "cli.h"
#include "scan_tool.h"

using namespace audit::scan_tool;
using nlohmann::json;

int main(int argc, char** argv) {
    return audit::cli::run("audit-scan", argc, argv, [&] {
        audit::cli::Args args(
            argc, argv, "audit-scan",
            "--manifests M --trust TRUST --key KEY --out OUTDIR [--root R] [options]",
            {{"root", "DIR", "root to audit, read-only (default /)"},
             {"manifests", "PATH", "product manifest file or directory of *.toml"},
             {"trust", "FILE", "trust root (trust.json)"},
             {"key", "FILE", "collector signing key"},
             {"cert", "FILE",
              "the collector key's certificate (default: KEY with .key -> .cert.json)"},
             {"allow-unsigned-manifests", "",
              "scan with manifests that have no signature (recorded)"},
             audit::cli::state_option(),
             {"out", "DIR",
              "where the bundle and the chain head are written (from a kit: KIT/evidence; "
              "trust, manifests and key default to the kit's too). The sequence state lives "
              "beside the key (KEY -> .state.json)"},
             {"kit", "ID", "kit id for the bundle chain (default: the certificate's)"},
             {"hash-scope", "SCOPE", "matched (default), packages or all (README: Hashing)"},
             {"digests", "LIST", "file digests: sha256 (default); CNSA: sha256,sha384"},
             {"jobs", "N", "hashing workers (default: one per CPU)"},
             {"io", "PATH",
              "how files are read: auto (default), uring (batched io_uring, restricted to "
              "openat/read/close) or posix; coverage.json walk.stats.io says which ran"},
             {"cross-filesystems", "", "walk into other mounted filesystems"},
             {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
             {"progress", "WHEN",
              "progress on stderr: auto (on a terminal, the default), always, never"},
             {"quiet", "", "no progress and no notes on stderr (errors and coverage stay)"},
             {"no-cmdlines", "", "record no process command lines at all"},
             {"json", "", "print one JSON document on stdout"}},
            "Enumerates installed software and hashes files under ROOT without writing to it,\n"
            "matches them against the product manifests and writes a signed evidence bundle\n"
            "OUTDIR/<host>_<utc>_<kit>-<seq>.evidence.tar.zst. Exit 1 when a product is present "
            "or\n"
            "coverage is insufficient (a root that is no whole, identified system; a package\n"
            "database that could not be read; a source or walk a product needs that failed;\n"
            "entries a product's rules need that this user may not read: permission_denied).\n"
            "Process command lines are recorded, redacted, only for processes a rule matched.");
        if (!args.positional().empty())
            throw audit::UsageError("unexpected argument '" + args.positional().front() + "'");
        // Started from a kit: the self-check first, then the kit's own files as defaults.
        auto kit_check = audit::cli::check_kit(args, "audit-scan");
        audit::kit::SelfCheck* kit = kit_check ? &kit_check->self_check() : nullptr;
        if (kit) kit_defaults(args, kit->kit_dir());
        audit::scan::ScanOptions opt;
#ifdef _WIN32
        // The running Windows by default: its system drive (README "Windows").
        opt.root = args.get("root", audit::scan_tool::windows_system_drive());
#else
        opt.root = args.get("root", "/");
#endif
        opt.out_dir = args.required("out");
        opt.kit_id = args.get("kit");
        opt.scope = audit::scan::scope_from_string(args.get("hash-scope", "matched"));
        opt.digests = audit::fs::DigestPolicy::parse(args.get("digests", "sha256"));
        opt.jobs = audit::cli::jobs(args);
        opt.io = audit::fs::io_path_from_string(args.get("io", "auto"));
        opt.one_filesystem = !args.has("cross-filesystems");
        opt.record_cmdlines = !args.has("no-cmdlines");
        const std::string when = args.get("progress", "auto");
        if (when != "auto" && when != "always" && when != "never")
            throw audit::UsageError("--progress wants auto, always or never, not '" + when + "'");
        const bool quiet = args.has("quiet");
        std::string manifests = args.required("manifests");
        std::string trust_path = args.required("trust");
        std::string key_path = args.required("key");

        if (kit) {
            // Everything the scan loads must be the kit's sealed bytes, checked before any write.
            kit->check_loaded(trust_path);
            kit_check->enforce(args);
        }
        // The kit's evidence area remembers the newest trust root it has seen (rollback).
        auto trust = audit::cli::load_trust(
            args, "audit-scan", (std::filesystem::path(opt.out_dir) / ".trust-state.json").string(),
            args.has("json") || quiet);
        std::string cert_path = args.get("cert");
        if (cert_path.empty()) cert_path = default_certificate_path(key_path);
        load_checked_manifests(opt, args, manifests, trust, kit_check ? &*kit_check : nullptr,
                               key_path, cert_path);
        opt.collector_certificate = read_certificate(cert_path);
        auto key = audit::cli::load_key(args, key_path);
        try {
            opt.tool_sha256 = audit::evidence::file_sha256(audit::kit::own_executable());
        } catch (const audit::IoError&) {
            opt.tool_sha256 = "";  // no /proc: recorded as unknown
        }
#ifdef _WIN32
        // Before anything is read: the privileges a scan of Windows needs (backup semantics,
        // drivers' load addresses), so that the user record below says what the scan could read.
        const auto privileges = audit::scan_tool::windows_enable_privileges();
#endif
        // Who scans, before a user namespace could make it look like root.
        opt.user = audit::scan::effective_user();
        // The running processes, while /proc/PID/exe is still readable: Landlock (below) denies
        // it for every process outside this one's sandbox.
#ifndef _WIN32
        if (audit::fs::Root live_root(opt.root); live_root.is_live()) {
            std::vector<audit::InventoryItem> items;
            auto report = audit::sources::LiveSource().collect(live_root, items);
            opt.live.emplace(std::move(report), std::move(items));
        }
#endif
        // From here on the process reads only under the root and writes only under --out.
        if (::mkdir(opt.out_dir.c_str(), 0755) != 0 && errno != EEXIST)
            throw audit::IoError("cannot create output directory " + opt.out_dir + ": " +
                                 std::strerror(errno));
#ifndef _WIN32
        // The walk holds one descriptor per directory level (down to --max-depth 4096): take
        // the whole hard limit rather than the 1024 soft default, or deep trees hit EMFILE.
        if (struct rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)::setrlimit(RLIMIT_NOFILE, &rl);
        }
#endif
        // The sequence state lives with the collector key (chain_state.cpp).
        std::optional<audit::evidence::KitStateLock> chain_state;
        open_chain_state(opt, trust, key_path, kit, quiet, chain_state);
#ifdef _WIN32
        opt.confinement = audit::scan_tool::windows_confinement(opt.root, opt.out_dir, privileges);
#else
        const auto view = audit::fs::make_readonly_view(opt.root, opt.out_dir);  // no thread yet
        opt.confinement = audit::fs::confine(opt.root, opt.out_dir, view).to_json();
#endif
        const bool tty = audit::cli::stderr_is_tty();
        bool drawn = false;
        if (!quiet && (when == "always" || (when == "auto" && tty && !args.has("json")))) {
            // On a terminal one line redrawn in place; elsewhere one line per update.
            opt.progress = [&drawn, tty](const audit::scan::Progress& p) {
                if (tty)
                    std::cerr << "\r\033[K" << progress_line(p) << std::flush;
                else
                    std::cerr << progress_line(p) << "\n";
                drawn = true;
            };
        }

        auto result = audit::scan::run_scan(opt, key, trust);
        if (drawn && tty) std::cerr << "\n";
        print_access(result.access);
        if (!quiet && chain_state && chain_state->fresh() && result.sequence == 1)
            std::cerr << "audit-scan: note: no sequence state was beside the collector key: kit "
                      << result.kit_id << " starts its chain at sequence 1 ("
                      << chain_state->state_path()
                      << "). If this key made evidence before with an older audit-scan, this "
                         "bundle forks that chain: scan with --out set to that older evidence "
                         "folder, whose state is then taken over\n";
        // What makes the whole scan prove nothing is said on the terminal, not only recorded.
        for (const auto& gap : result.system_gaps())
            std::cerr << "audit-scan: coverage insufficient: " << safe_text(gap) << "\n";
        if (args.has("json"))
            audit::cli::print_json(result.to_json());
        else
            print_human(result);
        return static_cast<int>(result.attention() ? audit::Exit::attention : audit::Exit::clean);
    });
}
