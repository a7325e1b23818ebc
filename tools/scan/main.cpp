// audit-scan: enumerate, hash and match a root read-only; write one signed evidence bundle.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/fs/digest.h"
#include "audit/fs/landlock.h"
#include "audit/fs/walker.h"
#include "audit/input_file.h"
#include "audit/kit/kit_manifest.h"
#include "audit/manifest/manifest.h"
#include "audit/scan/scan.h"
#include "audit/sources/live.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace {

using nlohmann::json;

// Names from the host shown on a terminal: control characters (escape sequences a hostile file
// name could carry) are printed as \xNN.
std::string safe_text(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// "ran: dpkg, systemd; failed: rpm; not on this root: 15" (the statuses are in the bundle).
std::string sources_line(const json& statuses) {
    std::string ran, failed;
    std::size_t absent = 0;
    for (const auto& [name, status] : statuses.items()) {
        const std::string st = status.is_string() ? status.get<std::string>() : "";
        if (st == "ran")
            ran += (ran.empty() ? "" : ", ") + name;
        else if (st == "failed")
            failed += (failed.empty() ? "" : ", ") + name;
        else
            ++absent;
    }
    std::string out = "ran: " + (ran.empty() ? std::string("none") : ran);
    if (!failed.empty()) out += "; FAILED: " + failed;
    return out + "; not on this root: " + std::to_string(absent);
}

// 1536 -> "1.5 KiB".
std::string human_bytes(double n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    std::size_t u = 0;
    while (n >= 1024 && u + 1 < std::size(units)) {
        n /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", n, units[u]);
    return buf;
}

// One progress line: "audit-scan: walk 1234 files, 56.7 MiB, 12.3 MiB/s, 2 s: /usr".
std::string progress_line(const audit::scan::Progress& p) {
    std::string line = "audit-scan: " + p.phase + " " + std::to_string(p.files) + " files, " +
                       human_bytes(static_cast<double>(p.bytes)) + ", " +
                       human_bytes(p.seconds > 0 ? static_cast<double>(p.bytes) / p.seconds : 0) +
                       "/s, " + std::to_string(static_cast<long long>(p.seconds)) + " s";
    if (!p.detail.empty()) line += ": " + safe_text(p.detail);
    return line;
}

// When unreadable entries reduced the scan, the terminal says so, not only the bundle.
void print_access(const json& access) {
    const auto denied = access.value("permission_denied", std::uint64_t{0});
    const json& user = access["user"];
    const std::string who = audit::scan::describe_user(user);
    if (denied > 0)
        std::cerr << "audit-scan: coverage reduced: " << denied << " entries could not be read by "
                  << who << ", e.g. "
                  << safe_text(access["examples"].empty()
                                   ? ""
                                   : access["examples"].front().get<std::string>())
                  << "\n";
    if (access["processes"].is_string())
        std::cerr << "audit-scan: coverage reduced: "
                  << safe_text(access["processes"].get<std::string>()) << " by " << who << "\n";
}

void print_human(const audit::scan::ScanResult& r) {
    const auto& s = r.summary;
    std::cout << "host      " << safe_text(r.host.label());
    if (!r.host.machine_id.empty()) std::cout << " (machine-id " << r.host.machine_id << ")";
    std::cout << "\n";
    const auto& system = s["coverage"]["system"];
    std::cout << "system    "
              << (system["os"].get<std::string>().empty()
                      ? "not recognised"
                      : system["os"].get<std::string>() + " (" +
                            system["os_evidence"].get<std::string>() + ")")
              << "; package databases "
              << system["package_databases"].dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace)
              << "; identifiers "
              << system["identifiers"].dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace)
              << "\n";
    std::cout << "sources   " << sources_line(s["coverage"]["sources"]) << "\n";
    std::cout << "inventory " << s["inventory_items"].get<std::size_t>() << " items, "
              << s["files"].get<std::size_t>() << " file records\n";
    for (const auto& p : s["coverage"]["products"])
        if (!p["sufficient"].get<bool>())
            std::cout << "coverage  " << p["product"].get<std::string>() << ": INSUFFICIENT: "
                      << p["gaps"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
    if (r.findings.empty()) std::cout << "findings  none\n";
    for (const auto& f : r.findings) {
        std::cout << "finding   " << f.product << " rule " << f.rule << " ("
                  << audit::manifest::to_string(f.confidence) << (f.residue ? ", residue" : "")
                  << "): ";
        std::size_t shown = 0;
        for (const auto& rec : f.records) {
            if (shown++ == 3) {
                std::cout << " …";
                break;
            }
            if (rec.contains("inventory"))
                std::cout << " " << safe_text(rec["inventory"].value("name", "")) << " "
                          << safe_text(rec["inventory"].value("version", "")) << " ["
                          << rec["inventory"].value("state", "") << "]";
            else if (rec.contains("file"))
                std::cout << " " << safe_text(rec["file"].value("path", ""));
        }
        std::cout << "\n";
    }
    for (const auto& p : s["present"]) std::cout << "PRESENT   " << p.get<std::string>() << "\n";
    std::cout << "bundle    " << r.bundle.path << "\n"
              << "sha256    " << r.bundle.sha256 << "\n";
}

std::string read_certificate(const std::string& path) {
    std::string data;
    try {
        data = audit::read_input_file(path, 1u << 20, "collector certificate");
    } catch (const audit::IoError& e) {
        throw audit::UsageError(std::string(e.what()) +
                                " (give --cert; audit-keys certify makes one)");
    }
    if (data.size() > (1u << 20))
        throw audit::VerifyError(path + ": larger than any collector certificate could be");
    return data;
}

unsigned parse_jobs(const std::string& text) {
    unsigned long n = 0;
    std::size_t used = 0;
    try {
        n = std::stoul(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || n > 1024)
        throw audit::UsageError("--jobs wants a number of workers from 1 to 1024, not '" + text +
                                "'");
    return static_cast<unsigned>(n);
}

// Started from a kit: the kit's own trust root, manifests, collector key and evidence area.
void kit_defaults(audit::cli::Args& args, const std::string& kit) {
    args.set_default("out", kit + "/evidence");
    args.set_default("trust", kit + "/trust/trust.json");
    args.set_default("manifests", kit + "/manifests");
    args.set_default("key", kit + "/keys/collector.key");
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run("audit-scan", [&] {
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
        auto* kit = audit::cli::running_kit();
        if (kit) kit_defaults(args, kit->kit_dir());
        audit::scan::ScanOptions opt;
        opt.root = args.get("root", "/");
        opt.out_dir = args.required("out");
        opt.kit_id = args.get("kit");
        opt.scope = audit::scan::scope_from_string(args.get("hash-scope", "matched"));
        opt.digests = audit::fs::DigestPolicy::parse(args.get("digests", "sha256"));
        opt.jobs = parse_jobs(args.get("jobs", "0"));
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
            audit::cli::enforce_kit(args, "audit-scan");
        }
        // The kit's evidence area remembers the newest trust root it has seen (rollback).
        auto trust = audit::cli::load_trust(
            args, "audit-scan", (std::filesystem::path(opt.out_dir) / ".trust-state.json").string(),
            args.has("json") || quiet);
        const bool allow_unsigned = args.has("allow-unsigned-manifests");
        // A manifest whose signature is required is checked against its bytes before the TOML
        // parser sees them: an unsigned file placed among the manifests is refused unparsed.
        opt.manifests = audit::manifest::load_manifests(
            manifests, [&](const std::string& path, std::string_view bytes) {
                if (kit) {
                    // From a kit, the sealed bytes first: a changed manifest names the kit.
                    kit->check_loaded(path, audit::fs::sha384_hex(bytes));
                    if (std::filesystem::exists(path + ".dsse.json"))
                        kit->check_loaded(path + ".dsse.json");
                    audit::cli::enforce_kit(args, "audit-scan");
                }
                audit::trust::verify_manifest_bytes(trust, path, bytes, allow_unsigned);
            });
        std::string cert_path = args.get("cert");
        if (cert_path.empty()) {
            cert_path = key_path;
            if (cert_path.size() > 4 && cert_path.compare(cert_path.size() - 4, 4, ".key") == 0)
                cert_path.resize(cert_path.size() - 4);
            cert_path += ".cert.json";
        }
        if (kit) {
            // (The manifests and their signatures were checked before they were parsed.)
            kit->check_loaded(key_path);
            kit->check_loaded(cert_path);
            audit::cli::enforce_kit(args, "audit-scan");
            opt.kit_manifest_sha256 = kit->kit_manifest_sha256;
            opt.kit_check = kit->to_json();
        }
        for (const auto& m : opt.manifests) {
            auto sig = audit::trust::verify_manifest(trust, m, allow_unsigned);
            if (sig.status != audit::trust::ManifestSignature::Status::verified)
                std::cerr << "audit-scan: warning: manifest " << m.path
                          << " is not signed (recorded in the bundle)\n";
            opt.manifest_signatures[m.id] = sig.to_json();
        }
        opt.collector_certificate = read_certificate(cert_path);
        auto key = audit::cli::load_key(args, key_path);
        try {
            opt.tool_sha256 = audit::evidence::file_sha256("/proc/self/exe");
        } catch (const audit::IoError&) {
            opt.tool_sha256 = "";  // no /proc: recorded as unknown
        }
        // Who scans, before a user namespace could make it look like root.
        opt.user = audit::scan::effective_user();
        // The running processes, while /proc/PID/exe is still readable: Landlock (below) denies
        // it for every process outside this one's sandbox.
        if (audit::fs::Root live_root(opt.root); live_root.is_live()) {
            std::vector<audit::InventoryItem> items;
            auto report = audit::sources::LiveSource().collect(live_root, items);
            opt.live.emplace(std::move(report), std::move(items));
        }
        // From here on the process reads only under the root and writes only under --out.
        if (::mkdir(opt.out_dir.c_str(), 0755) != 0 && errno != EEXIST)
            throw audit::IoError("cannot create output directory " + opt.out_dir + ": " +
                                 std::strerror(errno));
        // The walk holds one descriptor per directory level (down to --max-depth 4096): take
        // the whole hard limit rather than the 1024 soft default, or deep trees hit EMFILE.
        if (struct rlimit rl{}; ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            (void)::setrlimit(RLIMIT_NOFILE, &rl);
        }
        // The sequence state lives with the collector key, so that every output folder continues
        // one chain (on a kit: keys/collector.<kit>.state.json, named by the kit manifest). Opened
        // and locked here, before the process confines itself; its writer stays outside.
        std::optional<audit::evidence::KitStateLock> chain_state;
        {
            const auto cert = audit::trust::verify_certificate(trust, opt.collector_certificate);
            std::string state_path = audit::evidence::state_path_for_key(key_path, cert.kit_id);
            bool must_exist = false, in_out = false;
            std::error_code ec;
            if (kit && kit->kit &&
                std::filesystem::weakly_canonical(key_path, ec) ==
                    std::filesystem::weakly_canonical(
                        kit->kit_dir() + "/" + std::string(audit::kit::kCollectorKeyFile), ec)) {
                if (kit->kit->manifest.state_file.empty()) {
                    in_out = true;
                    std::cerr << "audit-scan: note: a kit made before the sequence state moved "
                                 "to keys/: it stays in "
                              << opt.out_dir << "\n";
                } else {
                    state_path = kit->kit_dir() + "/" + kit->kit->manifest.state_file;
                    must_exist = true;
                }
            }
            const auto state_dir = std::filesystem::path(state_path).parent_path();
            if (!in_out &&
                ::access((state_dir.empty() ? std::string(".") : state_dir.string()).c_str(),
                         W_OK) != 0) {
                in_out = true;
                std::cerr << "audit-scan: warning: " << state_path
                          << " cannot be written beside the collector key (read-only medium); "
                             "the sequence state stays in "
                          << opt.out_dir
                          << ": use this one evidence folder with this key, or the chain forks\n";
            }
            if (!in_out) {
                chain_state.emplace(key_path, state_path, cert.kit_id, opt.out_dir, must_exist);
                if (!quiet)
                    for (const auto& n : chain_state->notes())
                        std::cerr << "audit-scan: note: " << n << "\n";
                opt.chain_state = &*chain_state;
            }
        }
        const auto view = audit::fs::make_readonly_view(opt.root, opt.out_dir);  // no thread yet
        opt.confinement = audit::fs::confine(opt.root, opt.out_dir, view).to_json();
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
        if (kit) result.summary["kit_check"] = opt.kit_check;
        print_access(result.coverage["access"]);
        if (!quiet && chain_state && chain_state->fresh() && result.sequence == 1)
            std::cerr << "audit-scan: note: no sequence state was beside the collector key: kit "
                      << result.summary["kit"].get<std::string>()
                      << " starts its chain at sequence 1 (" << chain_state->state_path()
                      << "). If this key made evidence before with an older audit-scan, this "
                         "bundle forks that chain: scan with --out set to that older evidence "
                         "folder, whose state is then taken over\n";
        // What makes the whole scan prove nothing is said on the terminal, not only recorded.
        for (const auto& gap : result.coverage["system"]["gaps"])
            std::cerr << "audit-scan: coverage insufficient: " << safe_text(gap.get<std::string>())
                      << "\n";
        if (args.has("json"))
            audit::cli::print_json(result.summary);
        else
            print_human(result);
        return static_cast<int>(result.attention() ? audit::Exit::attention : audit::Exit::clean);
    });
}
