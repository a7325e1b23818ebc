// audit-kit: lay out, seal and image a removable-media kit; check a kit (and its evidence).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/chain_head.h"
#include "audit/evidence/kit_state.h"
#include "audit/kit/kit_build.h"
#include "audit/kit/kit_manifest.h"
#include "audit/kit/lms_seal.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/state.h"
#include "cli.h"

namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;
using audit::UsageError;

constexpr const char* kTool = "audit-kit";
constexpr const char* kToolNames[] = {"audit-scan", "audit-verify", "audit-attest", "audit-keys",
                                      "audit-kit"};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read " + path);
    std::string data(4u << 20, '\0');
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<std::size_t>(in.gcount()));
    return data;
}

std::uint64_t number(const audit::cli::Args& args, const std::string& name, std::uint64_t dflt) {
    if (!args.has(name)) return dflt;
    try {
        std::size_t used = 0;
        auto v = std::stoull(args.get(name), &used);
        if (used != args.get(name).size()) throw std::invalid_argument("trailing");
        return v;
    } catch (const std::exception&) {
        throw UsageError("--" + name + " needs a number");
    }
}

std::optional<std::string> kit_state_path(const audit::cli::Args& args) {
    std::string p = args.get("kit-state");
    if (p == "none") return std::nullopt;
    return p.empty() ? audit::kit::default_kit_state_path() : p;
}

audit::cli::Option kit_state_option() {
    return {"kit-state", "FILE", "highest kit version seen per kit (rollback); \"none\": off"};
}

// ---- build ----------------------------------------------------------------------------------

int build(int argc, char** argv) {
    audit::cli::Args args(
        argc, argv, "audit-kit build",
        "--trust TRUST --key KIT.key --manifests DIR --out KITDIR [--collector KEY] [options]",
        {{"trust", "FILE", "trust root (trust.json) to put on the kit"},
         {"key", "FILE", "a key of the trust root's kit role (signs the kit manifest)"},
         {"manifests", "DIR", "signed product manifests (NAME.toml + NAME.toml.dsse.json)"},
         {"out", "DIR", "new directory for the kit layout"},
         {"tools", "DIR", "where the static tools are (default: beside audit-kit)"},
         {"collector", "FILE", "collector key to carry (with KEY.cert.json); sets the kit id"},
         {"cert", "FILE", "the collector key's certificate (default: KEY .key -> .cert.json)"},
         {"kit", "ID", "kit id (default: the collector certificate's)"},
         {"kit-version", "N", "kit version (default: one above the highest seen, else 1)"},
         {"days", "N", "validity in days (default 90)"},
         {"expires", "TIME", "expiry as RFC 3339 UTC instead of --days"},
         {"docs", "PATH", "file or directory of files for docs/ (repeatable)", true},
         {"launcher", "FILE",
          "the launcher for noexec media (media/run.sh) -> KIT/run.sh (sh KIT/run.sh ...)"},
         {"lms-key", "FILE", "also seal with this HSS/LMS key (audit-kit lms-keygen)"},
         {"image", "FILE", "also write an image: NAME.iso (ISO 9660) or NAME.img (FAT)", true},
         {"evidence-mib", "N", "free space for evidence in a FAT image (default 64)"},
         {"label", "NAME", "volume label of images (default AUDITKIT)"},
         audit::cli::state_option(),
         kit_state_option(),
         {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
         {"json", "", "print one JSON document on stdout"}},
        "Lays out a kit (bin/ tools, manifests/ with signatures, trust/, docs/, keys/, empty\n"
        "evidence/) and writes KITDIR/kit.manifest.dsse.json: kit id, version, creation time,\n"
        "expiry and every file's size and SHA-384, signed by the kit role (and HSS/LMS).");
    if (!args.positional().empty())
        throw UsageError("unexpected argument '" + args.positional().front() + "'");
    const std::string out = args.required("out");
    auto trust = audit::cli::load_trust(args, kTool, "", args.has("json"));

    audit::kit::KitLayout layout;
    layout.out_dir = out;
    layout.trust_path = args.required("trust");
    std::string tools_dir = args.get("tools");
    if (tools_dir.empty()) tools_dir = stdfs::read_symlink("/proc/self/exe").parent_path().string();
    for (const char* name : kToolNames) {
        auto p = stdfs::path(tools_dir) / name;
        if (stdfs::is_regular_file(p)) layout.tools.push_back(p.string());
    }
    if (std::none_of(layout.tools.begin(), layout.tools.end(),
                     [](const std::string& t) { return t.ends_with("/audit-scan"); }))
        throw UsageError("no audit-scan in " + tools_dir + " (give --tools DIR)");

    // Only signed manifests go on a kit.
    for (const auto& m : audit::manifest::load_manifests(args.required("manifests"))) {
        audit::trust::verify_manifest(trust, m, false);
        layout.manifests.push_back(m.path);
        layout.manifests.push_back(m.path + std::string(audit::trust::kManifestSignatureSuffix));
    }
    for (const auto& d : args.all("docs")) {
        if (stdfs::is_directory(d)) {
            std::vector<std::string> files;
            for (const auto& e : stdfs::directory_iterator(d))
                if (e.is_regular_file()) files.push_back(e.path().string());
            std::sort(files.begin(), files.end());
            layout.docs.insert(layout.docs.end(), files.begin(), files.end());
        } else {
            layout.docs.push_back(d);
        }
    }
    layout.launcher = args.get("launcher");
    std::string kit_id = args.get("kit");
    if (args.has("collector")) {
        layout.collector_key = args.get("collector");
        layout.collector_cert = args.get("cert");
        if (layout.collector_cert.empty()) {
            auto base = layout.collector_key;
            if (base.ends_with(".key")) base.resize(base.size() - 4);
            layout.collector_cert = base + ".cert.json";
        }
        auto cert = audit::trust::verify_certificate(trust, read_text(layout.collector_cert));
        if (!kit_id.empty() && kit_id != cert.kit_id)
            throw UsageError("the collector is certified for kit " + cert.kit_id + ", not " +
                             kit_id);
        kit_id = cert.kit_id;
    }
    if (kit_id.empty()) throw UsageError("give --kit ID or --collector KEY");
    if (!audit::evidence::valid_kit_id(kit_id)) throw UsageError("invalid kit id '" + kit_id + "'");

    const auto state = kit_state_path(args);
    std::optional<std::uint64_t> seen;
    if (state) seen = audit::kit::seen_kit_version(*state, trust.authority, kit_id);
    audit::kit::KitManifest m;
    m.kit_id = kit_id;
    m.version = number(args, "kit-version", seen ? *seen + 1 : 1);
    if (m.version == 0) throw UsageError("kit versions start at 1");
    if (seen && m.version <= *seen)
        throw UsageError("kit " + kit_id + " version " + std::to_string(*seen) +
                         " exists already; versions only rise (give --kit-version " +
                         std::to_string(*seen + 1) + " or more)");
    m.created = audit::trust::utc_now();
    m.expires =
        args.has("expires")
            ? args.get("expires")
            : audit::trust::utc_in(static_cast<long long>(number(args, "days", 90)) * 86400);
    if (!audit::trust::is_rfc3339_utc(m.expires) || m.expires <= m.created)
        throw UsageError("--expires must be a future RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
    if (m.expires > trust.expires)
        throw UsageError("the kit would outlive its trust root (expires " + trust.expires + ")");
    m.authority = trust.authority;
    m.trust_version = trust.version;
    m.trust_sha256 = trust.sha256;

    auto key = audit::cli::load_key(args, args.required("key"));
    std::optional<audit::kit::LmsSigner> lms;
    if (args.has("lms-key")) {
        lms.emplace(args.get("lms-key"));
        m.lms = lms->public_key();
    }
    m.files = audit::kit::lay_out_kit(layout);
    if (!layout.collector_key.empty()) {
        // The collector key's sequence state: the one mutable file in keys/, made empty now so
        // that a deleted one is seen (evidence/kit_state.h).
        m.state_file = audit::kit::kit_state_file(kit_id);
        audit::evidence::create_empty_state(out + "/" + m.state_file, kit_id);
    }
    const std::string envelope =
        audit::kit::sign_kit_manifest(m, trust, key, lms ? &*lms : nullptr);
    audit::kit::write_kit_manifest(out, envelope);
    audit::kit::fault_point("lms-sign", 5);

    // Read back what was written, as a checker would.
    audit::kit::KitVerifyOptions as_built;
    as_built.now = m.created;  // a short-lived kit may expire while its images are made
    auto sealed = audit::kit::load_kit(out, trust, as_built);
    if (auto problems = audit::kit::compare_tree(out, sealed.manifest); !problems.empty())
        throw audit::IoError("the kit in " + out + " does not match its manifest: " +
                             problems.front().path + " " + problems.front().what);
    std::vector<std::string> notes = audit::kit::check_kit_version(sealed, state);

    const std::string label = args.get("label", "AUDITKIT");
    json images = json::array();
    for (const auto& img : args.all("image")) {
        if (img.ends_with(".iso"))
            audit::kit::make_iso_image(out, img, label);
        else if (img.ends_with(".img"))
            audit::kit::make_fat_image(out, img, label, number(args, "evidence-mib", 64));
        else
            throw UsageError("--image " + img + ": name it NAME.iso (ISO 9660) or NAME.img (FAT)");
        images.push_back({{"path", img}, {"sha256", audit::evidence::file_sha256(img)}});
    }
    json result = {{"kit_dir", out},
                   {"kit_id", m.kit_id},
                   {"version", m.version},
                   {"created", m.created},
                   {"expires", m.expires},
                   {"files", m.files.size()},
                   {"kit_manifest_sha256", sealed.sha256},
                   {"signers", sealed.signers},
                   {"lms", lms ? json{{"keyid", lms->public_key().keyid},
                                      {"index", lms->next_index() - 1},
                                      {"remaining", lms->remaining()}}
                               : json(nullptr)},
                   {"images", images},
                   {"notes", notes}};
    if (args.has("json")) {
        audit::cli::print_json(result);
    } else {
        for (const auto& n : notes) std::cerr << kTool << ": " << n << "\n";
        std::cout << "kit       " << m.kit_id << " version " << m.version << " in " << out << "\n"
                  << "files     " << m.files.size() << "\n"
                  << "expires   " << m.expires << "\n"
                  << "manifest  sha256 " << sealed.sha256 << "\n";
        if (lms)
            std::cout << "seal      HSS/LMS " << lms->public_key().keyid.substr(0, 16) << " index "
                      << lms->next_index() - 1 << " (" << lms->remaining() << " left)\n";
        for (const auto& i : images)
            std::cout << "image     " << i["path"].get<std::string>() << " sha256 "
                      << i["sha256"].get<std::string>() << "\n";
    }
    return 0;
}

// ---- check ----------------------------------------------------------------------------------

struct EvidenceEntry {
    std::string file;
    std::string sha256;
    std::string statement_sha256;
    std::string previous_statement;
    int format = 1;
    std::string kit_id;
    std::uint64_t sequence = 0;
    std::string previous;
    std::string kit_manifest_sha256;
    std::string self_check = "none";
    std::string error;
};

int check(int argc, char** argv) {
    audit::cli::Args args(
        argc, argv, "audit-kit check", "[--trust TRUST] [--lms-pub FILE] KITDIR|IMAGE",
        {{"trust", "FILE",
          "the inspector's trust root (default: the kit's own, which proves far less)"},
         {"lms-pub", "FILE", "require an HSS/LMS seal by this public key (KEY.pub.json)"},
         audit::cli::state_option(),
         kit_state_option(),
         {"json", "", "print one JSON document on stdout"}},
        "Verifies a kit directory, or a kit image read directly (ISO 9660 through libarchive,\n"
        "FAT through mtools' mcopy): the kit manifest's signatures,\n"
        "expiry and version (rollback), every file's size and SHA-384, no unlisted files; then\n"
        "every evidence bundle in KITDIR/evidence and the kit's hash chain, closed by its signed\n"
        "chain head (a deleted newest bundle or head is a failure); anything else in evidence/\n"
        "is reported. Exit 3 when anything does not verify, 1 when a bundle was made by a kit\n"
        "that failed its self-check.");
    if (args.positional().size() != 1)
        throw UsageError("give one kit directory or image (see --help)");
    const std::string given = args.positional().front();
    // An image (ISO 9660 or FAT) is read directly: its files are copied into a private
    // temporary directory (removed at the end) and checked there.
    struct TempDir {
        std::string path;
        ~TempDir() {
            std::error_code ec;
            if (!path.empty()) stdfs::remove_all(path, ec);
        }
    } image_copy;
    std::string dir = given;
    if (stdfs::is_regular_file(given)) {
        std::string tmpl = (stdfs::temp_directory_path() / "audit-kit-image.XXXXXX").string();
        if (!::mkdtemp(tmpl.data()))
            throw audit::IoError("cannot create a temporary directory: " +
                                 std::string(std::strerror(errno)));
        image_copy.path = tmpl;
        audit::kit::extract_kit_image(given, tmpl);
        dir = tmpl;
    } else if (!stdfs::is_directory(given)) {
        throw UsageError(given + " is neither a directory nor an image file");
    }
    const bool own_trust = !args.has("trust");
    args.set_default("trust", dir + "/" + std::string(audit::kit::kTrustFile));
    auto trust = audit::cli::load_trust(args, kTool, "", args.has("json"));

    audit::kit::KitVerifyOptions vopt;
    if (args.has("lms-pub"))
        vopt.required_lms = audit::kit::LmsPublicKey::from_json(read_text(args.get("lms-pub")));
    std::vector<std::string> problems, notes;
    if (own_trust)
        notes.push_back(
            "checked against the kit's own trust root: compare its fingerprints "
            "(audit-keys show) or give --trust");
    std::optional<audit::kit::SealedKit> kit;
    try {
        kit = audit::kit::load_kit(dir, trust, vopt);
        for (auto& n : audit::kit::check_kit_version(*kit, kit_state_path(args)))
            notes.push_back(n);
    } catch (const audit::VerifyError& e) {
        problems.push_back(e.what());
    }
    json tree = json::array();
    bool modes_compared = false;
    if (kit)
        for (const auto& p : audit::kit::compare_tree(dir, kit->manifest, &modes_compared)) {
            tree.push_back({{"path", p.path}, {"problem", p.what}});
            problems.push_back(p.path + ": " + p.what);
        }
    if (kit && !modes_compared)
        notes.push_back(
            "executable bits not compared: this copy keeps none (FAT, or copied off FAT)");

    // Evidence on the kit: every entry of evidence/ is accounted for (hidden ones included).
    std::vector<EvidenceEntry> evidence;
    const auto ev_dir = stdfs::path(dir) / std::string(audit::kit::kEvidenceDir);
    std::vector<std::string> names, head_names;
    std::map<std::string, std::string> state_files;  // kit id -> file name
    json unexpected = json::array();
    auto kit_of = [](const std::string& n, const std::string& prefix, const std::string& suffix) {
        if (n.size() <= prefix.size() + suffix.size() || !n.starts_with(prefix) ||
            !n.ends_with(suffix))
            return std::string();
        std::string id = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
        return audit::evidence::valid_kit_id(id) ? id : std::string();
    };
    if (stdfs::is_directory(ev_dir))
        for (const auto& e : stdfs::directory_iterator(ev_dir)) {
            const auto n = e.path().filename().string();
            struct stat st {};
            if (::lstat(e.path().c_str(), &st) != 0) {
                problems.push_back("evidence/" + n + ": cannot be examined");
                continue;
            }
            if (st.st_mode & (S_ISUID | S_ISGID))
                problems.push_back("evidence/" + n + ": setuid or setgid bit set");
            const bool regular = S_ISREG(st.st_mode);
            if (S_ISDIR(st.st_mode) && n.starts_with(".scan-work-")) {
                notes.push_back("evidence/" + n +
                                ": scratch directory of an interrupted scan (not evidence)");
            } else if (regular && n.front() != '.' && n.ends_with(audit::evidence::kBundleSuffix)) {
                names.push_back(n);
            } else if (regular && n.front() != '.' &&
                       n.ends_with(audit::evidence::kChainHeadSuffix)) {
                head_names.push_back(n);
            } else if (regular && !kit_of(n, ".kit-", ".state.json").empty()) {
                state_files[kit_of(n, ".kit-", ".state.json")] = n;
            } else if (regular && (!kit_of(n, ".kit-", ".lock").empty() ||
                                   n == ".trust-state.json" || n == ".trust-state.json.lock")) {
                // the scanner's lock files and its trust rollback state (unsigned, no evidence)
            } else if (regular && n.front() == '.' && n.find(".tmp-") != std::string::npos) {
                notes.push_back("evidence/" + n + ": an unfinished temporary file (not a bundle)");
            } else {
                problems.push_back("evidence/" + n +
                                   ": unexpected (not a bundle, chain head or kit state)");
                unexpected.push_back(n);
            }
        }
    std::sort(names.begin(), names.end());
    std::sort(head_names.begin(), head_names.end());
    bool unverified_kit = false;
    for (const auto& n : names) {
        EvidenceEntry ent;
        ent.file = n;
        try {
            auto b = audit::evidence::read_bundle((ev_dir / n).string(), trust, false);
            const auto& k = b.predicate().at("kit");
            ent.sha256 = b.sha256;
            ent.statement_sha256 = b.statement_sha256;
            ent.format = b.format;
            ent.kit_id = k.value("id", "");
            ent.sequence = k.value("sequence", std::uint64_t{0});
            ent.previous =
                k.contains("previous_bundle_sha256") && k["previous_bundle_sha256"].is_string()
                    ? k["previous_bundle_sha256"].get<std::string>()
                    : "";
            ent.previous_statement = k.contains("previous_statement_sha256") &&
                                             k["previous_statement_sha256"].is_string()
                                         ? k["previous_statement_sha256"].get<std::string>()
                                         : "";
            ent.kit_manifest_sha256 =
                k.contains("kit_manifest_sha256") && k["kit_manifest_sha256"].is_string()
                    ? k["kit_manifest_sha256"].get<std::string>()
                    : "";
            if (k.contains("self_check") && k["self_check"].is_object())
                ent.self_check = k["self_check"].value("status", "none");
            if (ent.self_check == "unverified") unverified_kit = true;
        } catch (const audit::Error& e) {
            ent.error = e.what();
            problems.push_back("evidence/" + n + ": " + e.what());
        }
        evidence.push_back(std::move(ent));
    }
    // Chain heads: signed by the kit's collector; one per kit, named after it.
    std::map<std::string, audit::evidence::ChainHead> heads;
    json heads_json = json::array();
    for (const auto& n : head_names) {
        try {
            auto h = audit::evidence::read_chain_head((ev_dir / n).string(), trust);
            if (n != h.kit_id + std::string(audit::evidence::kChainHeadSuffix))
                throw audit::VerifyError("evidence/" + n + ": the head of kit " + h.kit_id +
                                         " under another kit's name");
            heads_json.push_back({{"file", n},
                                  {"kit", h.kit_id},
                                  {"sequence", h.sequence},
                                  {"statement_sha256", h.statement_sha256},
                                  {"bundle", h.bundle_file},
                                  {"written", h.written},
                                  {"verified", true}});
            heads[h.kit_id] = std::move(h);
        } catch (const audit::Error& e) {
            heads_json.push_back({{"file", n}, {"verified", false}, {"error", e.what()}});
            problems.push_back(e.what());
        }
    }
    // The chain per kit id: sequences 1..head without gaps or forks, each naming its
    // predecessor (v2: by statement digest), closed by a head naming the newest bundle.
    std::map<std::string, std::map<std::uint64_t, const EvidenceEntry*>> chains;
    for (const auto& e : evidence) {
        if (!e.error.empty()) continue;
        auto [it, fresh] = chains[e.kit_id].emplace(e.sequence, &e);
        if (fresh) continue;
        if (it->second->statement_sha256 == e.statement_sha256)
            notes.push_back("evidence/" + e.file + ": the same bundle as " + it->second->file +
                            " (a copy; counted once)");
        else
            problems.push_back("chain of kit " + e.kit_id + ": two bundles with sequence " +
                               std::to_string(e.sequence) + " (fork)");
    }
    for (const auto& [id, h] : heads) chains[id];  // a head without bundles is a chain too
    json chain_json = json::object();
    for (const auto& [id, chain] : chains) {
        const auto head_it = heads.find(id);
        const audit::evidence::ChainHead* head =
            head_it == heads.end() ? nullptr : &head_it->second;
        const std::uint64_t newest = chain.empty() ? 0 : chain.rbegin()->first;
        const std::uint64_t top = std::max(newest, head ? head->sequence : 0);
        std::uint64_t expect = 1;
        const EvidenceEntry* prev = nullptr;
        bool ok = true;
        auto missing = [&](std::uint64_t from, std::uint64_t to) {
            problems.push_back("chain of kit " + id + ": sequence " + std::to_string(from) +
                               (to > from ? "-" + std::to_string(to) : "") +
                               " missing (a deleted bundle?)");
            ok = false;
        };
        for (const auto& [seq, e] : chain) {
            if (seq != expect) {
                missing(expect, seq - 1);
            } else if (e->format >= 2 ? e->previous_statement !=
                                            (prev ? prev->statement_sha256 : std::string())
                                      : e->previous != (prev ? prev->sha256 : std::string())) {
                problems.push_back("chain of kit " + id + ": bundle " + std::to_string(seq) +
                                   " does not name its predecessor's digest (broken chain)");
                ok = false;
            }
            expect = seq + 1;
            prev = e;
        }
        if (expect <= top) missing(expect, top);
        if (!head) {
            if (!chain.empty()) {
                problems.push_back("chain of kit " + id + ": no chain head (evidence/" + id +
                                   std::string(audit::evidence::kChainHeadSuffix) +
                                   " is missing), so deleted newest bundles would go unseen");
                ok = false;
            }
        } else if (head->sequence < newest) {
            problems.push_back("chain of kit " + id + ": the chain head names sequence " +
                               std::to_string(head->sequence) + " but bundle " +
                               std::to_string(newest) +
                               " exists (an older head, or a scan stopped before writing it)");
            ok = false;
        } else if (head->sequence == newest &&
                   chain.at(newest)->statement_sha256 != head->statement_sha256) {
            problems.push_back("chain of kit " + id + ": the chain head names another bundle " +
                               std::to_string(newest) + " than the one present (fork)");
            ok = false;
        }
        // The scanner's own (unsigned) state: it never records more than the evidence shows.
        if (auto sf = state_files.find(id); sf != state_files.end()) {
            auto st = json::parse(read_text((ev_dir / sf->second).string()), nullptr, false);
            if (!st.is_object() || !st.contains("last_sequence") ||
                !st["last_sequence"].is_number_unsigned()) {
                problems.push_back("evidence/" + sf->second + ": not a kit state file");
                ok = false;
            } else if (st["last_sequence"].get<std::uint64_t>() > top) {
                problems.push_back("chain of kit " + id + ": the kit's state records sequence " +
                                   std::to_string(st["last_sequence"].get<std::uint64_t>()) +
                                   ", the evidence present ends at " + std::to_string(top) +
                                   " (bundles deleted?)");
                ok = false;
            }
        }
        chain_json[id] = {{"bundles", chain.size()},
                          {"last_sequence", newest},
                          {"head_sequence", head ? json(head->sequence) : json(nullptr)},
                          {"closed", head && head->sequence == newest && ok},
                          {"intact", ok}};
        if (kit && id != kit->manifest.kit_id)
            notes.push_back("evidence of another kit (" + id + ") is on this kit");
        if (head) try {
                for (auto& n : audit::kit::check_chain_head_seen(*head, trust.authority,
                                                                 kit_state_path(args)))
                    notes.push_back(n);
            } catch (const audit::VerifyError& e) {
                problems.push_back(e.what());
            }
    }
    // The kit's sequence state in keys/ (kits made since it moved there): it never records more
    // than the evidence shows, and nothing was left half-written.
    if (kit && !kit->manifest.state_file.empty() &&
        stdfs::is_regular_file(stdfs::path(dir) / kit->manifest.state_file)) {
        const std::string rel = kit->manifest.state_file;
        const std::string& id = kit->manifest.kit_id;
        try {
            auto st = audit::evidence::read_state_file((stdfs::path(dir) / rel).string());
            std::uint64_t top = 0;
            if (chain_json.contains(id)) {
                top = chain_json[id]["last_sequence"].get<std::uint64_t>();
                if (chain_json[id]["head_sequence"].is_number())
                    top = std::max(top, chain_json[id]["head_sequence"].get<std::uint64_t>());
            }
            if (st.kit_id != id)
                problems.push_back(rel + ": the sequence state of kit " + st.kit_id);
            else if (st.last_sequence > top)
                problems.push_back("chain of kit " + id + ": the kit's state records sequence " +
                                   std::to_string(st.last_sequence) + " (" + rel +
                                   "), the evidence present ends at " + std::to_string(top) +
                                   " (bundles deleted, or written to another --out folder: "
                                   "check them together)");
            // The bundle the state names is the one present at that sequence (not a fork).
            for (const auto& e : evidence)
                if (e.error.empty() && e.kit_id == id && e.sequence == st.last_sequence &&
                    st.kit_id == id && !st.last_statement_sha256.empty() &&
                    e.statement_sha256 != st.last_statement_sha256)
                    problems.push_back("chain of kit " + id + ": the kit's state (" + rel +
                                       ") names another bundle " +
                                       std::to_string(st.last_sequence) + " than " + e.file +
                                       " (fork)");
            if (st.pending_sequence > st.last_sequence)
                notes.push_back(rel + ": a scan was interrupted writing sequence " +
                                std::to_string(st.pending_sequence) + " to " + st.pending_dir);
        } catch (const audit::Error& e) {
            problems.push_back(rel + ": " + e.what());
        }
    }
    if (kit)
        if (auto sf = state_files.find(kit->manifest.kit_id);
            sf != state_files.end() && !chains.count(kit->manifest.kit_id))
            notes.push_back("evidence/" + sf->second + ": a kit state without evidence");
    json ev_json = json::array();
    for (const auto& e : evidence)
        ev_json.push_back({{"file", e.file},
                           {"sha256", e.sha256},
                           {"statement_sha256", e.statement_sha256},
                           {"format", e.format},
                           {"kit", e.kit_id},
                           {"sequence", e.sequence},
                           {"kit_manifest_sha256", e.kit_manifest_sha256},
                           {"self_check", e.self_check},
                           {"verified", e.error.empty()},
                           {"error", e.error}});
    const int code = !problems.empty() ? 3 : unverified_kit ? 1 : 0;
    json result = {
        {"kit_dir", given},
        {"image", image_copy.path.empty() ? json(nullptr) : json(audit::kit::image_kind(given))},
        {"status", code == 0   ? "verified"
                   : code == 1 ? "attention"
                               : "failed"},
        {"problems", problems},
        {"notes", notes},
        {"tree", tree},
        {"modes_compared", modes_compared},
        {"evidence", ev_json},
        {"heads", heads_json},
        {"unexpected", unexpected},
        {"chains", chain_json}};
    if (kit)
        result["kit"] = {{"kit_id", kit->manifest.kit_id},
                         {"version", kit->manifest.version},
                         {"created", kit->manifest.created},
                         {"expires", kit->manifest.expires},
                         {"files", kit->manifest.files.size()},
                         {"kit_manifest_sha256", kit->sha256},
                         {"signers", kit->signers},
                         {"lms_sealed", kit->lms_sealed}};
    if (args.has("json")) {
        audit::cli::print_json(result);
    } else {
        for (const auto& n : notes) std::cerr << kTool << ": " << n << "\n";
        if (kit)
            std::cout << "kit       " << kit->manifest.kit_id << " version "
                      << kit->manifest.version << ", expires " << kit->manifest.expires << ", "
                      << kit->manifest.files.size() << " files"
                      << (kit->lms_sealed ? ", HSS/LMS sealed" : "") << "\n";
        for (const auto& e : evidence)
            std::cout << "evidence  " << e.file << ": "
                      << (e.error.empty()
                              ? "verified, sequence " + std::to_string(e.sequence) +
                                    (e.self_check == "unverified" ? ", KIT UNVERIFIED" : "")
                              : "FAILED")
                      << "\n";
        for (const auto& [id, h] : heads)
            std::cout << "head      kit " << id << ": sequence " << h.sequence << " ("
                      << h.bundle_file << ")\n";
        for (const auto& p : problems) std::cout << "PROBLEM   " << p << "\n";
        std::cout << (code == 0   ? "kit verified\n"
                      : code == 1 ? "kit verified; some bundles were made by an unverified kit\n"
                                  : "KIT FAILED VERIFICATION\n");
    }
    return code;
}

// ---- lms-keygen -----------------------------------------------------------------------------

int lms_keygen(int argc, char** argv) {
    audit::cli::Args args(
        argc, argv, "audit-kit lms-keygen", "--out FILE [--params P]",
        {{"out", "FILE", "new HSS/LMS private key file (FILE.pub.json: its public key)"},
         {"params", "P",
          "Botan HSS/LMS parameters, one level (default SHA-256,HW(10,4): 1024 seals)"},
         {"json", "", "print one JSON document on stdout"}},
        "Creates a stateful hash-based seal key. Each seal uses one index; the key file is\n"
        "advanced and fsynced before a signature is made, so never restore it from a backup.");
    const auto pub = audit::kit::lms_generate(
        args.required("out"), args.get("params", std::string(audit::kit::kDefaultLmsParams)));
    if (args.has("json"))
        audit::cli::print_json({{"keyid", pub.keyid}, {"params", pub.params}});
    else
        std::cout << "HSS/LMS key " << pub.keyid << " (" << pub.params << ")\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run(kTool, [&] {
        const std::string cmd = argc > 1 ? argv[1] : "";
        if (cmd == "build") return build(argc - 1, argv + 1);
        if (cmd == "check") return check(argc - 1, argv + 1);
        if (cmd == "lms-keygen") return lms_keygen(argc - 1, argv + 1);
        audit::cli::Args args(argc, argv, kTool,
                              "build|check|lms-keygen [options] (see COMMAND --help)", {},
                              "build       lay out and seal a kit (and images)\n"
                              "check       verify a kit and the evidence on it\n"
                              "lms-keygen  create an HSS/LMS seal key");
        throw UsageError(cmd.empty() ? "give a command: build, check or lms-keygen"
                                     : "unknown command '" + cmd + "'");
    });
}
