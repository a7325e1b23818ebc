// audit-keys init, show, generate, certify: an authority, its keys and collector certificates.
#include <filesystem>
#include <iostream>

#include "audit/error.h"
#include "audit/input_file.h"
#include "audit/trust/certificate.h"
#include "audit/trust/state.h"
#include "keys_tool.h"

namespace audit::keys_tool {

int cmd_init(const cli::Args& args) {
    const std::string dir = args.required("dir");
    const auto profile = crypto::profile_from_string(args.get("profile", "hybrid"));
    const int days = parse_days(args, "365");
    const auto pass = cli::passphrase(args, "passphrase for the new keys", true);
    trust::init_authority(dir, profile, pass, days);

    const std::string trust_path = (std::filesystem::path(dir) / "trust.json").string();
    const auto root = trust::TrustRoot::load(trust_path);
    const std::string cert_path = (std::filesystem::path(dir) / "collector.cert.json").string();
    const auto cert = trust::verify_certificate(root, read_text(cert_path));
    if (args.has("json")) {
        auto j = root_json(root);
        j["dir"] = dir;
        j["trust"] = trust_path;
        j["encrypted"] = pass.has_value();
        j["collector_certificate"] = cert_path;
        j["kit"] = cert.kit_id;
        cli::print_json(j);
    } else {
        std::cout << "created trust root " << trust_path << " and keys for roles";
        for (const char* r : trust::kRoles) std::cout << " " << r;
        std::cout << (pass ? " (encrypted)" : " (NOT encrypted)") << "\n";
        std::cout << "certified the collector key for kit " << cert.kit_id << " until "
                  << cert.not_after << " (" << cert_path << ")\n\n";
        print_root(root);
    }
    return 0;
}

int cmd_show(const cli::Args& args) {
    const auto root = trust::TrustRoot::load(args.required("trust"));
    if (args.has("json"))
        cli::print_json(root_json(root));
    else
        print_root(root);
    return 0;
}

int parse_days(const cli::Args& args, const std::string& fallback) {
    const std::string text = args.get("days", fallback);
    try {
        std::size_t used = 0;
        int days = std::stoi(text, &used);
        if (used != text.size() || days < 1 || days > 36500) throw std::invalid_argument("range");
        return days;
    } catch (const std::exception&) {
        throw UsageError("--days needs a number of days between 1 and 36500, got '" + text + "'");
    }
}

std::string read_text(const std::string& path) {
    std::string data = read_input_file(path, 1u << 20, "file");
    if (data.size() > (1u << 20)) throw UsageError(path + ": too large (over 1 MiB)");
    return data;
}

// A public identity from a .pub.json file, or from a private key file.
crypto::PublicIdentity public_identity(const cli::Args& args, const std::string& path) {
    const std::string text = read_text(path);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return cli::load_key(args, path).identity();  // a key file
    try {
        return crypto::PublicIdentity::from_json(j);
    } catch (const VerifyError& e) {
        throw UsageError(path + ": " + e.what());
    }
}

int cmd_generate(const cli::Args& args) {
    const std::string role = args.required("role");
    bool known = false;
    for (const char* r : trust::kRoles) known = known || role == r;
    if (!known)
        throw UsageError("unknown role '" + role + "' (root, kit, collector, inspector, manifest)");
    const std::string out = args.required("out");
    const auto key =
        crypto::SigningKey::generate(crypto::profile_from_string(args.get("profile", "hybrid")));
    const auto pass = cli::passphrase(args, "passphrase for the new " + role + " key", true);
    key.save(out, pass);
    nlohmann::json pub = key.identity().to_json();
    pub["role"] = role;
    crypto::write_new_file(out + ".pub.json", pub.dump(2) + "\n", 0644);
    if (args.has("json"))
        cli::print_json({{"key", out},
                         {"public", out + ".pub.json"},
                         {"role", role},
                         {"identity", identity_json(key.identity())}});
    else
        std::cout << "created " << role << " key " << out << " (public: " << out << ".pub.json)\n  "
                  << key.identity().fingerprint() << "  " << schemes_of(key.identity()) << "\n";
    return 0;
}

int cmd_certify(const cli::Args& args) {
    const auto root = trust::TrustRoot::load(args.required("trust"));
    const auto issuer = cli::load_key(args, args.required("key"));
    const auto collector = public_identity(args, args.required("collector"));
    const std::string kit = args.required("kit");
    const std::string not_before = args.get("not-before", trust::utc_in(-300));
    std::string not_after = args.get("not-after");
    if (not_after.empty()) {
        not_after = trust::utc_in(static_cast<long long>(parse_days(args, "90")) * 86400);
        if (not_after > root.expires) not_after = root.expires;
    }
    const std::string cert =
        trust::issue_certificate(root, issuer, collector, kit, not_before, not_after);
    const std::string out = args.required("out");
    crypto::write_new_file(out, cert, 0644);
    if (args.has("json"))
        cli::print_json({{"certificate", out},
                         {"kit", kit},
                         {"collector", identity_json(collector)},
                         {"not_before", not_before},
                         {"not_after", not_after}});
    else
        std::cout << "certified collector " << collector.fingerprint() << "\n  for kit " << kit
                  << " from " << not_before << " to " << not_after << "\n  written to " << out
                  << "\n";
    return 0;
}

}  // namespace audit::keys_tool
