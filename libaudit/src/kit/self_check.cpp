#include "audit/kit/self_check.h"

#include <unistd.h>
#ifdef _WIN32
#include <windows.h>

#include "audit/core/win_path.h"
#endif

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/input_file.h"

namespace audit::kit {

namespace {

namespace stdfs = std::filesystem;

constexpr std::size_t kMaxKitFile = 16u << 20;

}  // namespace

std::string own_executable() {
#ifdef _WIN32
    std::wstring buf(32768, L'\0');
    const DWORD n = GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
    if (n == 0 || n >= buf.size())
        throw IoError("cannot name this program's own image (GetModuleFileNameW): " +
                      core::win_error_text(GetLastError()));
    buf.resize(n);
    return core::utf8_of(buf);
#else
    return "/proc/self/exe";
#endif
}

std::optional<KitLocation> locate_kit(const std::string& exe) {
    std::error_code ec;
    const stdfs::path self = stdfs::read_symlink(exe, ec);
    const stdfs::path resolved = ec ? stdfs::weakly_canonical(exe, ec) : self;
    if (ec || resolved.empty()) return std::nullopt;
    const stdfs::path bin = resolved.parent_path();
    const stdfs::path kit = bin.parent_path();
    if (bin.filename() == "bin" && stdfs::is_regular_file(kit / std::string(kKitManifestFile), ec))
        return KitLocation{kit.string(), "bin/" + resolved.filename().string()};
    // The Windows tools of a kit: KIT/bin/windows/NAME.exe, listed under that path.
    if (bin.filename() == "windows" && kit.filename() == "bin" &&
        stdfs::is_regular_file(kit.parent_path() / std::string(kKitManifestFile), ec))
        return KitLocation{kit.parent_path().string(),
                           "bin/windows/" + resolved.filename().string()};
    // Run by the kit's launcher (media/run.sh) from a copy in a private tmpfs, because the
    // medium is mounted noexec: AUDIT_KIT_DIR names the kit, and the running copy is compared
    // with the kit's bin/NAME entry like the original would be.
    if (const char* dir = std::getenv("AUDIT_KIT_DIR"); dir && *dir) {
        const stdfs::path named = stdfs::absolute(dir, ec);
        if (!ec && stdfs::is_regular_file(named / std::string(kKitManifestFile), ec))
            return KitLocation{stdfs::weakly_canonical(named, ec).string(),
                               "bin/" + resolved.filename().string()};
    }
    return std::nullopt;
}

SelfCheck self_check(const KitLocation& where, const std::string& exe) {
    const auto start = std::chrono::steady_clock::now();
    SelfCheck sc;
    sc.location = where;
    const std::string manifest_path = where.kit_dir + "/" + std::string(kKitManifestFile);
    try {
        const std::string text = read_input_file_within<VerifyError>(manifest_path, kMaxKitFile,
                                                                     "kit file", " is too large");
        sc.kit_manifest_sha256 = crypto::sha256_hex(text);
        const std::string trust_text =
            read_input_file_within<VerifyError>(where.kit_dir + "/" + std::string(kTrustFile),
                                                kMaxKitFile, "kit file", " is too large");
        auto trust = trust::TrustRoot::verify(trust_text);
        auto kit = verify_kit_manifest(text, trust);
        kit.sha256 = sc.kit_manifest_sha256;
        if (kit.manifest.trust_sha256 != trust.sha256)
            sc.problems.push_back(std::string(kTrustFile) +
                                  " is not the trust root the kit manifest names");
        sc.kit = std::move(kit);
    } catch (const Error& e) {
        sc.problems.push_back(e.what());
    }
    if (sc.kit) {
        const KitFile* self = sc.kit->manifest.find(where.tool_rel);
        if (!self) {
            sc.problems.push_back(where.tool_rel + " is not listed in the kit manifest");
        } else {
            try {
                if (file_sha384(exe) != self->sha384)
                    sc.problems.push_back(where.tool_rel +
                                          ": the running binary differs from the sealed one");
            } catch (const Error& e) {
                sc.problems.push_back(std::string("cannot read the running binary: ") + e.what());
            }
        }
    }
    sc.millis =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return sc;
}

bool SelfCheck::check_loaded(const std::string& path, std::string sha384) {
    std::error_code ec;
    const auto full = stdfs::weakly_canonical(path, ec);
    const auto rel = ec ? stdfs::path() : full.lexically_relative(location.kit_dir);
    const std::string r = rel.generic_string();
    if (r.empty() || r == "." || r.rfind("..", 0) == 0) {
        problems.push_back(path + " is not on the kit");
        return false;
    }
    if (!kit) return false;
    const KitFile* f = kit->manifest.find(r);
    if (!f) {
        problems.push_back(r + " is not listed in the kit manifest");
        return false;
    }
    try {
        if (sha384.empty()) sha384 = file_sha384(full.string());
    } catch (const Error& e) {
        problems.push_back(e.what());
        return false;
    }
    if (sha384 != f->sha384) {
        problems.push_back(r + ": sha384 differs from the kit manifest");
        return false;
    }
    return true;
}

nlohmann::json SelfCheck::to_json() const {
    nlohmann::json j = {{"status", verified() ? "verified" : "unverified"},
                        {"dir", location.kit_dir},
                        {"kit_manifest_sha256", kit_manifest_sha256},
                        {"problems", problems},
                        {"self_check_ms", millis}};
    if (kit) {
        j["kit_id"] = kit->manifest.kit_id;
        j["version"] = kit->manifest.version;
        j["expires"] = kit->manifest.expires;
        j["lms_sealed"] = kit->lms_sealed;
    }
    return j;
}

}  // namespace audit::kit
