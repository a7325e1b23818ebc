// audit-kit build: lay out a kit, seal its manifest (kit role, optionally HSS/LMS), make images.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/evidence/kit_state.h"
#include "audit/kit/kit_build.h"
#include "audit/kit/kit_manifest.h"
#include "audit/kit/lms_seal.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "kit_tool.h"
#include "run_scan_cmd.h"

namespace audit::kit_tool {

namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

constexpr const char* kToolNames[] = {"audit-scan", "audit-verify", "audit-attest", "audit-keys",
                                      "audit-kit"};

}  // namespace

int build(int argc, char** argv) {
    cli::Args args(
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
         {"windows-bin", "DIR",
          "also carry DIR's Windows tools (audit-scan.exe, ...) in bin/windows/, with "
          "RUN-SCAN.cmd"},
         {"lms-key", "FILE", "also seal with this HSS/LMS key (audit-kit lms-keygen)"},
         {"image", "FILE", "also write an image: NAME.iso (ISO 9660) or NAME.img (FAT)", true},
         {"evidence-mib", "N", "free space for evidence in a FAT image (default 64)"},
         {"label", "NAME", "volume label of images (default AUDITKIT)"},
         cli::state_option(),
         kit_state_option(),
         {"passphrase-fd", "N", "read the key passphrase from file descriptor N"},
         {"json", "", "print one JSON document on stdout"},
         {"fault-at", "POINT:STEP", ""}},  // crash tests (tests/e2e/kit.sh): kill at a step
        "Lays out a kit (bin/ tools, bin/windows/ with --windows-bin, manifests/ with signatures,\n"
        "trust/, docs/, keys/, empty evidence/) and writes KITDIR/kit.manifest.dsse.json: kit id,\n"
        "version, creation time, expiry and every file's size and SHA-384, signed by the kit role\n"
        "(and HSS/LMS).");
    cli::check_kit(args, kTool);
    if (!args.positional().empty())
        throw UsageError("unexpected argument '" + args.positional().front() + "'");
    if (args.has("fault-at")) kit::arm_fault(args.get("fault-at"));
    const std::string out = args.required("out");
    auto trust = cli::load_trust(args, kTool, "", args.has("json"));

    kit::KitLayout layout;
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
    for (const auto& m : manifest::load_manifests(args.required("manifests"))) {
        trust::verify_manifest(trust, m, false);
        layout.manifests.push_back(m.path);
        layout.manifests.push_back(m.path + std::string(trust::kManifestSignatureSuffix));
    }
    layout.docs = kit::doc_files(args.all("docs"));
    layout.launcher = args.get("launcher");
    if (args.has("windows-bin")) {
        layout.windows_tools = kit::find_windows_tools(args.get("windows-bin"));
        layout.windows_launcher = kRunScanCmd;
    }
    std::string kit_id = args.get("kit");
    if (args.has("collector")) {
        layout.collector_key = args.get("collector");
        layout.collector_cert = args.get("cert");
        if (layout.collector_cert.empty()) {
            auto base = layout.collector_key;
            if (base.ends_with(".key")) base.resize(base.size() - 4);
            layout.collector_cert = base + ".cert.json";
        }
        auto cert = trust::verify_certificate(trust, read_text(layout.collector_cert));
        if (!kit_id.empty() && kit_id != cert.kit_id)
            throw UsageError("the collector is certified for kit " + cert.kit_id + ", not " +
                             kit_id);
        kit_id = cert.kit_id;
    }
    if (kit_id.empty()) throw UsageError("give --kit ID or --collector KEY");
    if (!evidence::valid_kit_id(kit_id)) throw UsageError("invalid kit id '" + kit_id + "'");

    const auto state = kit_state_path(args);
    kit::KitVersionRequest request;
    if (args.has("kit-version")) request.version = number(args, "kit-version", 0);
    if (args.has("expires"))
        request.expires = args.get("expires");
    else
        request.days = number(args, "days", 90);
    request.state_path = state;
    kit::KitManifest m = kit::new_kit_manifest(trust, kit_id, request);

    auto key = cli::load_key(args, args.required("key"));
    std::optional<kit::LmsSigner> lms;
    if (args.has("lms-key")) {
        lms.emplace(args.get("lms-key"));
        m.lms = lms->public_key();
    }
    m.files = kit::lay_out_kit(layout);
    if (!layout.collector_key.empty()) {
        // The collector key's sequence state: the one mutable file in keys/, made empty now so
        // that a deleted one is seen (evidence/kit_state.h).
        m.state_file = kit::kit_state_file(kit_id);
        evidence::create_empty_state(out + "/" + m.state_file, kit_id);
    }
    const std::string envelope = kit::sign_kit_manifest(m, trust, key, lms ? &*lms : nullptr);
    kit::write_kit_manifest(out, envelope);
    kit::fault_point("lms-sign", 5);

    // Read back what was written, as a checker would.
    kit::KitVerifyOptions as_built;
    as_built.now = m.created;  // a short-lived kit may expire while its images are made
    auto sealed = kit::load_kit(out, trust, as_built);
    if (auto problems = kit::compare_tree(out, sealed.manifest); !problems.empty())
        throw IoError("the kit in " + out + " does not match its manifest: " +
                      problems.front().path + " " + problems.front().what);
    std::vector<std::string> notes = kit::check_kit_version(sealed, state);

    const std::string label = args.get("label", "AUDITKIT");
    json images = json::array();
    for (const auto& img : args.all("image")) {
        if (img.ends_with(".iso"))
            kit::make_iso_image(out, img, label);
        else if (img.ends_with(".img"))
            kit::make_fat_image(out, img, label, number(args, "evidence-mib", 64));
        else
            throw UsageError("--image " + img + ": name it NAME.iso (ISO 9660) or NAME.img (FAT)");
        images.push_back({{"path", img}, {"sha256", evidence::file_sha256(img)}});
    }
    json result = {{"kit_dir", out},
                   {"kit_id", m.kit_id},
                   {"version", m.version},
                   {"created", m.created},
                   {"expires", m.expires},
                   {"files", m.files.size()},
                   {"windows_tools", layout.windows_tools.size()},
                   {"kit_manifest_sha256", sealed.sha256},
                   {"signers", sealed.signers},
                   {"lms", lms ? json{{"keyid", lms->public_key().keyid},
                                      {"index", lms->next_index() - 1},
                                      {"remaining", lms->remaining()}}
                               : json(nullptr)},
                   {"images", images},
                   {"notes", notes}};
    if (args.has("json")) {
        cli::print_json(result);
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

}  // namespace audit::kit_tool
