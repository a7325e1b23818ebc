// audit-scan: what it loads: the manifests (each checked against its signature and the kit before
// it is parsed), the certificate, --jobs, a kit's defaults, and
// the sequence state of the collector key's chain (opened before the scan confines itself).
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "audit/core/hex.h"
#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/kit/kit_manifest.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "scan_tool.h"

namespace audit::scan_tool {

std::string read_certificate(const std::string& path) {
    std::string data;
    try {
        data = read_input_file(path, 1u << 20, "collector certificate");
    } catch (const IoError& e) {
        throw UsageError(std::string(e.what()) + " (give --cert; audit-keys certify makes one)");
    }
    if (data.size() > (1u << 20))
        throw VerifyError(path + ": larger than any collector certificate could be");
    return data;
}

std::string default_certificate_path(const std::string& key_path) {
    std::string path = key_path;
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".key") == 0)
        path.resize(path.size() - 4);
    return path + ".cert.json";
}

void load_checked_manifests(scan::ScanOptions& opt, const cli::Args& args,
                            const std::string& manifests, const trust::TrustRoot& trust,
                            cli::KitCheck* kit_check, const std::string& key_path,
                            const std::string& cert_path) {
    kit::SelfCheck* kit = kit_check ? &kit_check->self_check() : nullptr;
    const bool allow_unsigned = args.has("allow-unsigned-manifests");
    // A manifest whose signature is required is checked against its bytes before the TOML
    // parser sees them: an unsigned file placed among the manifests is refused unparsed.
    opt.manifests = audit::manifest::load_manifests(
        manifests, [&](const std::string& path, std::string_view bytes) {
            if (kit) {
                // From a kit, the sealed bytes first: a changed manifest names the kit.
                kit->check_loaded(path, audit::core::sha384_hex(bytes));
                if (std::filesystem::exists(path + ".dsse.json"))
                    kit->check_loaded(path + ".dsse.json");
                kit_check->enforce(args);
            }
            audit::trust::verify_manifest_bytes(trust, path, bytes, allow_unsigned);
        });
    if (kit) {
        // (The manifests and their signatures were checked before they were parsed.)
        kit->check_loaded(key_path);
        kit->check_loaded(cert_path);
        kit_check->enforce(args);
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
}

// Started from a kit: the kit's own trust root, manifests, collector key and evidence area.
void kit_defaults(cli::Args& args, const std::string& kit) {
    args.set_default("out", kit + "/evidence");
    args.set_default("trust", kit + "/trust/trust.json");
    args.set_default("manifests", kit + "/manifests");
    args.set_default("key", kit + "/keys/collector.key");
}

void open_chain_state(scan::ScanOptions& opt, const trust::TrustRoot& trust,
                      const std::string& key_path, const kit::SelfCheck* self, bool quiet,
                      std::optional<evidence::KitStateLock>& state) {
    // The sequence state lives with the collector key, so that every output folder continues
    // one chain (on a kit: keys/collector.<kit>.state.json, named by the kit manifest). Opened
    // and locked here, before the process confines itself; its writer stays outside.
    {
        const auto cert = trust::verify_certificate(trust, opt.collector_certificate);
        std::string state_path = evidence::state_path_for_key(key_path, cert.kit_id);
        bool must_exist = false, in_out = false;
        std::error_code ec;
        if (self && self->kit &&
            std::filesystem::weakly_canonical(key_path, ec) ==
                std::filesystem::weakly_canonical(
                    self->kit_dir() + "/" + std::string(kit::kCollectorKeyFile), ec)) {
            if (self->kit->manifest.state_file.empty()) {
                in_out = true;
                std::cerr << "audit-scan: note: a kit made before the sequence state moved "
                             "to keys/: it stays in "
                          << opt.out_dir << "\n";
            } else {
                state_path = self->kit_dir() + "/" + self->kit->manifest.state_file;
                must_exist = true;
            }
        }
        const auto state_dir = std::filesystem::path(state_path).parent_path();
        if (!in_out && ::access((state_dir.empty() ? std::string(".") : state_dir.string()).c_str(),
                                W_OK) != 0) {
            in_out = true;
            std::cerr << "audit-scan: warning: " << state_path
                      << " cannot be written beside the collector key (read-only medium); "
                         "the sequence state stays in "
                      << opt.out_dir
                      << ": use this one evidence folder with this key, or the chain forks\n";
        }
        if (!in_out) {
            state.emplace(key_path, state_path, cert.kit_id, opt.out_dir, must_exist);
            if (!quiet)
                for (const auto& n : state->notes()) std::cerr << "audit-scan: note: " << n << "\n";
            opt.chain_state = &*state;
        }
    }
}

}  // namespace audit::scan_tool
