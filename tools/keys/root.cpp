// audit-keys rotate-root, revoke, sign-manifest: the next trust root version; manifest signatures.
#include <iostream>

#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/rotation.h"
#include "keys_tool.h"

namespace audit::keys_tool {

namespace {

// Role changes of rotate-root: --set ROLE=PUB[,PUB...] (keys given as .pub.json or key files).
std::vector<trust::RoleChange> role_changes(const cli::Args& args) {
    std::vector<trust::RoleChange> out;
    for (const auto& spec : args.all("set")) {
        auto eq = spec.find('=');
        if (eq == std::string::npos) throw UsageError("--set needs ROLE=KEYFILE[,KEYFILE...]");
        trust::RoleChange change{spec.substr(0, eq), {}};
        std::string rest = spec.substr(eq + 1);
        for (std::size_t pos = 0; pos <= rest.size();) {
            auto comma = rest.find(',', pos);
            const std::string file =
                rest.substr(pos, comma == std::string::npos ? comma : comma - pos);
            if (!file.empty()) change.keys.push_back(public_identity(args, file));
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
        out.push_back(std::move(change));
    }
    return out;
}

// rotate-root and revoke: version N+1 signed by the given keys (old and new root keys), checked
// as a successor of N, written with N kept in root-history/ (trust/rotation.h).
int write_next_root(const cli::Args& args, const std::string& current_bytes, trust::TrustRoot next,
                    const std::string& what) {
    const std::string trust_path = args.required("trust");
    const int days = parse_days(args, "365");
    std::vector<crypto::SigningKey> keys;
    for (const auto& k : args.all("key")) keys.push_back(cli::load_key(args, k));
    std::vector<const crypto::SigningKey*> signers;
    for (const auto& k : keys) signers.push_back(&k);
    const std::string out = args.get("out", trust_path);
    const auto published =
        trust::publish_next_root(trust_path, current_bytes, std::move(next), days, signers, out);
    if (args.has("json")) {
        cli::print_json(root_json(published.root));
    } else {
        std::cout << what << ": trust root version " << published.root.version << " written to "
                  << out << " (version " << published.previous_version << " kept in "
                  << published.previous_kept << ")\n\n";
        print_root(published.root);
    }
    return 0;
}

}  // namespace

int cmd_rotate_root(const cli::Args& args) {
    const std::string current = read_text(args.required("trust"));
    auto next = trust::TrustRoot::verify_signed(current);
    std::optional<int> threshold;
    if (args.has("root-threshold")) {
        try {
            threshold = std::stoi(args.get("root-threshold"));
        } catch (const std::exception&) {
            throw UsageError("--root-threshold needs a number");
        }
    }
    trust::apply_role_changes(next, role_changes(args), threshold);
    return write_next_root(args, current, std::move(next), "rotated");
}

int cmd_revoke(const cli::Args& args) {
    const std::string current = read_text(args.required("trust"));
    auto next = trust::TrustRoot::verify_signed(current);
    const auto& ids = args.all("keyid");
    if (ids.empty()) throw UsageError("--keyid: name the key ids to revoke");
    trust::revoke_keys(next, ids);
    return write_next_root(args, current, std::move(next),
                           "revoked " + std::to_string(ids.size()) + " key(s)");
}

int cmd_sign_manifest(const cli::Args& args, const std::vector<std::string>& files) {
    if (files.empty()) throw UsageError("sign-manifest: name the manifest files");
    const auto root = trust::TrustRoot::load(args.required("trust"));
    const auto key = cli::load_key(args, args.required("key"));
    nlohmann::json signed_list = nlohmann::json::array();
    for (const auto& f : files) {
        for (const auto& m : manifest::load_manifests(f)) {
            const std::string sig = m.path + std::string(trust::kManifestSignatureSuffix);
            evidence::write_file_atomic(sig, trust::sign_manifest(root, m, key), false, 0644);
            trust::verify_manifest(root, m, false);
            signed_list.push_back(
                {{"manifest", m.path}, {"id", m.id}, {"version", m.version}, {"signature", sig}});
            if (!args.has("json"))
                std::cout << "signed " << m.path << " (" << m.id << " " << m.version << ") -> "
                          << sig << "\n";
        }
    }
    if (args.has("json")) cli::print_json({{"signed", signed_list}});
    return 0;
}

}  // namespace audit::keys_tool
