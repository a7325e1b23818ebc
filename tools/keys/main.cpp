// audit-keys: create an authority (trust root and role keys) and show what a trust root holds.
#include <filesystem>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/trust/trust_root.h"
#include "cli.h"

namespace {

using audit::UsageError;
namespace crypto = audit::crypto;
namespace trust = audit::trust;

constexpr const char* kTool = "audit-keys";

nlohmann::json identity_json(const crypto::PublicIdentity& id) {
    nlohmann::json comps = nlohmann::json::array();
    for (const auto& c : id.components)
        comps.push_back({{"scheme", crypto::to_string(c.scheme)}, {"keyid", c.keyid}});
    return {{"keyid", id.keyid}, {"fingerprint", id.fingerprint()}, {"components", comps}};
}

std::string schemes_of(const crypto::PublicIdentity& id) {
    std::string out;
    for (const auto& c : id.components)
        out += (out.empty() ? "" : " + ") + std::string(crypto::to_string(c.scheme));
    return out;
}

bool is_revoked(const trust::TrustRoot& root, const std::string& keyid) {
    for (const auto& r : root.revoked)
        if (r == keyid) return true;
    return false;
}

nlohmann::json root_json(const trust::TrustRoot& root) {
    nlohmann::json roles = nlohmann::json::object();
    for (const char* r : trust::kRoles) {
        const auto& spec = root.roles.at(r);
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& id : spec.keyids) {
            auto k = identity_json(root.keys.at(id));
            k["revoked"] = is_revoked(root, id);
            keys.push_back(std::move(k));
        }
        roles[r] = {{"threshold", spec.threshold}, {"keys", keys}};
    }
    return {{"version", root.version},
            {"expires", root.expires},
            {"sha256", root.sha256},
            {"roles", roles},
            {"revoked", root.revoked}};
}

void print_root(const trust::TrustRoot& root) {
    std::cout << "version: " << root.version << "\nexpires: " << root.expires
              << "\nsha256:  " << root.sha256 << "\n";
    for (const char* r : trust::kRoles) {
        const auto& spec = root.roles.at(r);
        std::cout << "\nrole " << r << " (threshold " << spec.threshold << " of "
                  << spec.keyids.size() << ")\n";
        for (const auto& id : spec.keyids) {
            const auto& key = root.keys.at(id);
            std::cout << "  " << key.fingerprint() << "  " << schemes_of(key)
                      << (is_revoked(root, id) ? "  REVOKED" : "") << "\n";
        }
    }
    if (!root.revoked.empty()) {
        std::cout << "\nrevoked:\n";
        for (const auto& id : root.revoked) std::cout << "  " << id << "\n";
    }
}

int cmd_init(const audit::cli::Args& args) {
    const std::string dir = args.required("dir");
    const auto profile = crypto::profile_from_string(args.get("profile", "hybrid"));
    int days = 0;
    const std::string days_text = args.get("days", "365");
    try {
        std::size_t used = 0;
        days = std::stoi(days_text, &used);
        if (used != days_text.size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
        throw UsageError("--days needs a number of days, got '" + days_text + "'");
    }
    const auto pass = audit::cli::passphrase(args, "passphrase for the new keys", true);
    trust::init_authority(dir, profile, pass, days);

    const std::string trust_path = (std::filesystem::path(dir) / "trust.json").string();
    const auto root = trust::TrustRoot::load(trust_path);
    if (args.has("json")) {
        auto j = root_json(root);
        j["dir"] = dir;
        j["trust"] = trust_path;
        j["encrypted"] = pass.has_value();
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << "created trust root " << trust_path << " and keys for roles";
        for (const char* r : trust::kRoles) std::cout << " " << r;
        std::cout << (pass ? " (encrypted)" : " (NOT encrypted)") << "\n\n";
        print_root(root);
    }
    return 0;
}

int cmd_show(const audit::cli::Args& args) {
    const auto root = trust::TrustRoot::load(args.required("trust"));
    if (args.has("json"))
        std::cout << root_json(root).dump(2) << "\n";
    else
        print_root(root);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run(kTool, [&] {
        audit::cli::Args args(
            argc, argv, kTool, "init --dir DIR [options] | show --trust FILE [--json]",
            {
                {"dir", "DIR", "init: directory for trust.json and the role keys"},
                {"profile", "P", "init: hybrid (ECDSA P-384 + ML-DSA-87, default), ecdsa, ed25519"},
                {"days", "N", "init: validity of the trust root in days (default 365)"},
                {"no-passphrase", "", "init: store the private keys unencrypted"},
                {"passphrase-fd", "N", "read the passphrase from file descriptor N"},
                {"trust", "FILE", "show: the trust root to verify and show"},
                {"json", "", "machine-readable output"},
            },
            "Subcommands:\n"
            "  init   create a trust root and one key per role (root, kit, collector, inspector,\n"
            "         manifest); refuses to overwrite existing files\n"
            "  show   verify a trust root and print its version, expiry, roles and fingerprints\n"
            "The passphrase comes from --passphrase-fd, else AUDIT_PASSPHRASE, else the terminal.");
        const auto& pos = args.positional();
        if (pos.empty()) throw UsageError("missing subcommand: init or show (see --help)");
        if (pos.size() > 1) throw UsageError("unexpected argument '" + pos[1] + "'");
        if (pos[0] == "init") return cmd_init(args);
        if (pos[0] == "show") return cmd_show(args);
        throw UsageError("unknown subcommand '" + pos[0] + "' (init or show)");
    });
}
