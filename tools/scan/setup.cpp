// audit-scan: what it loads besides the manifests: the certificate, --jobs, a kit's defaults, and
// the sequence state of the collector key's chain (opened before the scan confines itself).
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/kit/kit_manifest.h"
#include "audit/trust/certificate.h"
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
