// audit-kit check: a kit directory or image and the evidence on it (kit/kit_check.h).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "audit/error.h"
#include "audit/kit/kit_build.h"
#include "audit/kit/kit_check.h"
#include "audit/kit/kit_manifest.h"
#include "audit/kit/lms_seal.h"
#include "kit_tool.h"

namespace audit::kit_tool {

namespace {

using nlohmann::json;
namespace stdfs = std::filesystem;

}  // namespace

int check(int argc, char** argv) {
    cli::Args args(
        argc, argv, "audit-kit check", "[--trust TRUST] [--lms-pub FILE] KITDIR|IMAGE",
        {{"trust", "FILE",
          "the inspector's trust root (default: the kit's own, which proves far less)"},
         {"lms-pub", "FILE", "require an HSS/LMS seal by this public key (KEY.pub.json)"},
         cli::state_option(),
         kit_state_option(),
         {"json", "", "print one JSON document on stdout"}},
        "Verifies a kit directory, or a kit image read directly (ISO 9660 through libarchive,\n"
        "FAT through mtools' mcopy): the kit manifest's signatures,\n"
        "expiry and version (rollback), every file's size and SHA-384, no unlisted files; then\n"
        "every evidence bundle in KITDIR/evidence and the kit's hash chain, closed by its signed\n"
        "chain head (a deleted newest bundle or head is a failure); anything else in evidence/\n"
        "is reported. Exit 3 when anything does not verify, 1 when a bundle was made by a kit\n"
        "that failed its self-check.");
    cli::check_kit(args, kTool);
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
            throw IoError("cannot create a temporary directory: " +
                          std::string(std::strerror(errno)));
        image_copy.path = tmpl;
        kit::extract_kit_image(given, tmpl);
        dir = tmpl;
    } else if (!stdfs::is_directory(given)) {
        throw UsageError(given + " is neither a directory nor an image file");
    }
    const bool own_trust = !args.has("trust");
    args.set_default("trust", dir + "/" + std::string(kit::kTrustFile));
    auto trust = cli::load_trust(args, kTool, "", args.has("json"));

    kit::KitCheckOptions copt;
    if (args.has("lms-pub"))
        copt.verify.required_lms = kit::LmsPublicKey::from_json(read_text(args.get("lms-pub")));
    copt.state_path = kit_state_path(args);
    copt.own_trust = own_trust;
    auto report = kit::check_kit_dir(dir, trust, copt);
    const int code = report.code;
    json result = {
        {"kit_dir", given},
        {"image", image_copy.path.empty() ? json(nullptr) : json(kit::image_kind(given))}};
    for (auto& [k, v] : report.doc.items()) result[k] = std::move(v);
    if (args.has("json")) {
        cli::print_json(result);
    } else {
        for (const auto& n : report.notes) std::cerr << kTool << ": " << n << "\n";
        if (result.contains("kit")) {
            const auto& k = result["kit"];
            std::cout << "kit       " << k["kit_id"].get<std::string>() << " version "
                      << k["version"] << ", expires " << k["expires"].get<std::string>() << ", "
                      << k["files"] << " files"
                      << (k["lms_sealed"].get<bool>() ? ", HSS/LMS sealed" : "") << "\n";
        }
        for (const auto& e : result["evidence"])
            std::cout << "evidence  " << e["file"].get<std::string>() << ": "
                      << (e["verified"].get<bool>()
                              ? "verified, sequence " + e["sequence"].dump() +
                                    (e["self_check"] == "unverified" ? ", KIT UNVERIFIED" : "")
                              : "FAILED")
                      << "\n";
        for (const auto& h : result["heads"])
            if (h["verified"].get<bool>())
                std::cout << "head      kit " << h["kit"].get<std::string>() << ": sequence "
                          << h["sequence"] << " (" << h["bundle"].get<std::string>() << ")\n";
        for (const auto& p : report.problems) std::cout << "PROBLEM   " << p << "\n";
        std::cout << (code == 0   ? "kit verified\n"
                      : code == 1 ? "kit verified; some bundles were made by an unverified kit\n"
                                  : "KIT FAILED VERIFICATION\n");
    }
    return code;
}

}  // namespace audit::kit_tool
