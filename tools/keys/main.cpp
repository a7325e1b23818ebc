// audit-keys: create an authority (trust root and role keys) and show what a trust root holds.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/crypto/keys.h"
#include "audit/error.h"
#include "audit/evidence/bundle.h"
#include "audit/input_file.h"
#include "audit/manifest/manifest.h"
#include "audit/trust/certificate.h"
#include "audit/trust/manifest_signature.h"
#include "audit/trust/state.h"
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
    return {{"authority", root.authority},     {"version", root.version},
            {"policy", root.policy.to_json()}, {"expires", root.expires},
            {"sha256", root.sha256},           {"roles", roles},
            {"revoked", root.revoked}};
}

void print_root(const trust::TrustRoot& root) {
    std::cout << "authority: " << root.authority << "\nversion: " << root.version
              << "\nexpires: " << root.expires << "\nsha256:  " << root.sha256
              << "\npolicy:  allowed " << root.policy.to_json()["allowed_schemes"].dump()
              << ", required " << root.policy.to_json()["required_schemes"].dump() << "\n";
    for (const char* r : trust::kRoles) {
        const auto& spec = root.roles.at(r);
        if (spec.keyids.empty()) {
            std::cout << "\nrole " << r << ": keys certified per kit by the kit or root role\n";
            continue;
        }
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

int parse_days(const audit::cli::Args& args, const std::string& fallback);
std::string read_text(const std::string& path);

int cmd_init(const audit::cli::Args& args) {
    const std::string dir = args.required("dir");
    const auto profile = crypto::profile_from_string(args.get("profile", "hybrid"));
    const int days = parse_days(args, "365");
    const auto pass = audit::cli::passphrase(args, "passphrase for the new keys", true);
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
        audit::cli::print_json(j);
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

int cmd_show(const audit::cli::Args& args) {
    const auto root = trust::TrustRoot::load(args.required("trust"));
    if (args.has("json"))
        audit::cli::print_json(root_json(root));
    else
        print_root(root);
    return 0;
}

int parse_days(const audit::cli::Args& args, const std::string& fallback) {
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
    std::string data = audit::read_input_file(path, 1u << 20, "file");
    if (data.size() > (1u << 20)) throw audit::UsageError(path + ": too large (over 1 MiB)");
    return data;
}

// A public identity from a .pub.json file, or from a private key file.
crypto::PublicIdentity public_identity(const audit::cli::Args& args, const std::string& path) {
    const std::string text = read_text(path);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return audit::cli::load_key(args, path).identity();  // a key file
    try {
        return crypto::PublicIdentity::from_json(j);
    } catch (const audit::VerifyError& e) {
        throw UsageError(path + ": " + e.what());
    }
}

int cmd_generate(const audit::cli::Args& args) {
    const std::string role = args.required("role");
    bool known = false;
    for (const char* r : trust::kRoles) known = known || role == r;
    if (!known)
        throw UsageError("unknown role '" + role + "' (root, kit, collector, inspector, manifest)");
    const std::string out = args.required("out");
    const auto key =
        crypto::SigningKey::generate(crypto::profile_from_string(args.get("profile", "hybrid")));
    const auto pass = audit::cli::passphrase(args, "passphrase for the new " + role + " key", true);
    key.save(out, pass);
    nlohmann::json pub = key.identity().to_json();
    pub["role"] = role;
    crypto::write_new_file(out + ".pub.json", pub.dump(2) + "\n", 0644);
    if (args.has("json"))
        audit::cli::print_json({{"key", out},
                                {"public", out + ".pub.json"},
                                {"role", role},
                                {"identity", identity_json(key.identity())}});
    else
        std::cout << "created " << role << " key " << out << " (public: " << out << ".pub.json)\n  "
                  << key.identity().fingerprint() << "  " << schemes_of(key.identity()) << "\n";
    return 0;
}

int cmd_certify(const audit::cli::Args& args) {
    const auto root = trust::TrustRoot::load(args.required("trust"));
    const auto issuer = audit::cli::load_key(args, args.required("key"));
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
        audit::cli::print_json({{"certificate", out},
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

// Role changes of rotate-root: --set ROLE=PUB[,PUB...] (keys given as .pub.json or key files).
void apply_role_changes(const audit::cli::Args& args, trust::TrustRoot& next) {
    for (const auto& spec : args.all("set")) {
        auto eq = spec.find('=');
        if (eq == std::string::npos) throw UsageError("--set needs ROLE=KEYFILE[,KEYFILE...]");
        const std::string role = spec.substr(0, eq);
        if (!next.roles.count(role)) throw UsageError("unknown role '" + role + "' in --set");
        trust::RoleSpec rs;
        std::string rest = spec.substr(eq + 1);
        std::size_t pos = 0;
        while (pos <= rest.size()) {
            auto comma = rest.find(',', pos);
            const std::string file =
                rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            if (!file.empty()) {
                auto id = public_identity(args, file);
                rs.keyids.push_back(id.keyid);
                next.keys[id.keyid] = id;
            }
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
        if (rs.keyids.empty() && role != "collector")
            throw UsageError("--set " + role + "= names no key");
        rs.threshold = 1;
        next.roles[role] = rs;
    }
    if (args.has("root-threshold")) {
        try {
            next.roles["root"].threshold = std::stoi(args.get("root-threshold"));
        } catch (const std::exception&) {
            throw UsageError("--root-threshold needs a number");
        }
    }
    // Keys no role names any more are dropped from the document (revoked ids stay listed).
    std::set<std::string> used;
    for (const auto& [name, rs] : next.roles) used.insert(rs.keyids.begin(), rs.keyids.end());
    for (auto it = next.keys.begin(); it != next.keys.end();)
        it = used.count(it->first) ? std::next(it) : next.keys.erase(it);
}

// rotate-root and revoke: version N+1 signed by the given keys (old and new root keys), checked
// as a successor of N, written with N kept in root-history/ for verifiers that walk the chain.
int write_next_root(const audit::cli::Args& args, trust::TrustRoot next, const std::string& what) {
    const std::string trust_path = args.required("trust");
    const std::string old_bytes = read_text(trust_path);
    const auto current = trust::TrustRoot::verify_signed(old_bytes);
    const std::string out = args.get("out", trust_path);
    next.version = current.version + 1;
    next.expires = trust::utc_in(static_cast<long long>(parse_days(args, "365")) * 86400);
    std::vector<crypto::SigningKey> keys;
    for (const auto& k : args.all("key")) keys.push_back(audit::cli::load_key(args, k));
    if (keys.empty()) throw UsageError("--key: give the root keys that sign the new version");
    std::vector<const crypto::SigningKey*> signers;
    for (const auto& k : keys) signers.push_back(&k);
    const std::string envelope = trust::sign_root(next, signers);
    const auto verified = current.verify_successor(envelope);  // refuses too few old or new keys
    verified.check_expiry();

    namespace stdfs = std::filesystem;
    // Keep every version a verifier may need: the history beside the old file, and the old file.
    const std::string hist_old = trust::history_path(out, current.version);
    std::error_code ec;
    stdfs::create_directories(stdfs::path(hist_old).parent_path(), ec);
    if (ec) throw audit::IoError("cannot create " + stdfs::path(hist_old).parent_path().string());
    for (int v = 1; v < current.version; ++v) {
        const auto from = trust::history_path(trust_path, v), to = trust::history_path(out, v);
        if (from != to && stdfs::exists(from, ec) && !stdfs::exists(to, ec))
            crypto::write_new_file(to, read_text(from), 0644);
    }
    if (!stdfs::exists(hist_old, ec)) crypto::write_new_file(hist_old, old_bytes, 0644);
    if (out == trust_path)
        audit::evidence::write_file_atomic(out, envelope, false, 0644);
    else
        crypto::write_new_file(out, envelope, 0644);
    if (args.has("json"))
        audit::cli::print_json(root_json(verified));
    else {
        std::cout << what << ": trust root version " << verified.version << " written to " << out
                  << " (version " << current.version << " kept in " << hist_old << ")\n\n";
        print_root(verified);
    }
    return 0;
}

int cmd_rotate_root(const audit::cli::Args& args) {
    auto next = trust::TrustRoot::verify_signed(read_text(args.required("trust")));
    apply_role_changes(args, next);
    return write_next_root(args, std::move(next), "rotated");
}

int cmd_revoke(const audit::cli::Args& args) {
    auto next = trust::TrustRoot::verify_signed(read_text(args.required("trust")));
    const auto& ids = args.all("keyid");
    if (ids.empty()) throw UsageError("--keyid: name the key ids to revoke");
    for (const auto& id : ids) {
        if (id.size() != 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
            throw UsageError("'" + id + "' is not a key id (64 lowercase hex digits)");
        if (std::find(next.revoked.begin(), next.revoked.end(), id) == next.revoked.end())
            next.revoked.push_back(id);
    }
    return write_next_root(args, std::move(next),
                           "revoked " + std::to_string(ids.size()) + " key(s)");
}

int cmd_sign_manifest(const audit::cli::Args& args, const std::vector<std::string>& files) {
    if (files.empty()) throw UsageError("sign-manifest: name the manifest files");
    const auto root = trust::TrustRoot::load(args.required("trust"));
    const auto key = audit::cli::load_key(args, args.required("key"));
    nlohmann::json signed_list = nlohmann::json::array();
    for (const auto& f : files) {
        for (const auto& m : audit::manifest::load_manifests(f)) {
            const std::string sig = m.path + std::string(trust::kManifestSignatureSuffix);
            audit::evidence::write_file_atomic(sig, trust::sign_manifest(root, m, key), false,
                                               0644);
            trust::verify_manifest(root, m, false);
            signed_list.push_back(
                {{"manifest", m.path}, {"id", m.id}, {"version", m.version}, {"signature", sig}});
            if (!args.has("json"))
                std::cout << "signed " << m.path << " (" << m.id << " " << m.version << ") -> "
                          << sig << "\n";
        }
    }
    if (args.has("json")) audit::cli::print_json({{"signed", signed_list}});
    return 0;
}

const std::vector<audit::cli::Option> kOptions = {
    {"dir", "DIR", "init: directory for trust.json and the role keys"},
    {"profile", "P", "init, generate: hybrid (ECDSA P-384 + ML-DSA-87, default), ecdsa, ed25519"},
    {"days", "N", "validity in days (init, rotate-root, revoke: 365; certify: 90)"},
    {"trust", "FILE", "the trust root to read (and, for rotate-root/revoke, to succeed)"},
    {"key", "FILE",
     "signing key (certify: kit or root key; rotate-root/revoke: root keys, "
     "repeatable; sign-manifest: manifest key)",
     true},
    {"role", "R", "generate: root, kit, collector, inspector or manifest"},
    {"out", "FILE",
     "generate/certify: file to write; rotate-root/revoke: new trust root (default: "
     "replace --trust)"},
    {"collector", "FILE", "certify: the collector's .pub.json or key file"},
    {"kit", "ID", "certify: the kit id the collector may sign for"},
    {"not-before", "TIME", "certify: start of validity (RFC 3339 UTC; default now - 5 min)"},
    {"not-after", "TIME",
     "certify: end of validity (default now + --days, at most the root's expiry)"},
    {"set", "ROLE=FILES",
     "rotate-root: give ROLE these keys (.pub.json or key files, comma-separated)", true},
    {"root-threshold", "N", "rotate-root: threshold of the new root role"},
    {"keyid", "ID", "revoke: key id to revoke (repeatable)", true},
    {"no-passphrase", "", "init, generate: store the private keys unencrypted"},
    {"passphrase-fd", "N", "read passphrases from file descriptor N (one line per key)"},
    {"json", "", "machine-readable output"},
};

struct Subcommand {
    const char* name;
    const char* summary;
    const char* synopsis;
    const char* description;
    std::vector<std::string> options;
};

const std::vector<Subcommand> kSubcommands = {
    {"init",
     "create an authority: trust.json, one key per role, a collector certificate",
     "--dir DIR [--profile P] [--days N] [--no-passphrase] [--json]",
     "Creates an authority in DIR: trust.json, one key per role (root, kit, collector,\n"
     "inspector, manifest: DIR/ROLE.key) and a certificate for the collector key\n"
     "(DIR/collector.cert.json, for one kit). Refuses to overwrite anything.",
     {"dir", "profile", "days", "no-passphrase", "passphrase-fd", "json"}},
    {"show",
     "verify a trust root; print version, expiry, roles, fingerprints",
     "--trust FILE [--json]",
     "Verifies a trust root and prints its version, expiry, policy, roles and the key\n"
     "fingerprints (to read aloud over the phone).",
     {"trust", "json"}},
    {"generate",
     "create one key for a role (FILE and FILE.pub.json)",
     "--role R --out FILE [--profile P] [--no-passphrase] [--json]",
     "Creates one key for a role: FILE (the private key) and FILE.pub.json.",
     {"role", "out", "profile", "no-passphrase", "passphrase-fd", "json"}},
    {"certify",
     "delegate bundle signing to a collector key for one kit and a window",
     "--trust FILE --key KIT_OR_ROOT_KEY --collector PUB --kit ID --out FILE\n"
     "       [--days N | --not-before TIME --not-after TIME] [--json]",
     "Delegates bundle signing to a collector key for one kit and a validity window; the\n"
     "certificate is signed by a kit or root key of the trust root.",
     {"trust", "key", "collector", "kit", "not-before", "not-after", "days", "out", "passphrase-fd",
      "json"}},
    {"rotate-root",
     "write trust root version N+1, signed by enough old and new root keys",
     "--trust FILE --key ROOT_KEY... [--set ROLE=FILES]... [--root-threshold N]\n"
     "       [--days N] [--out FILE] [--json]",
     "Writes trust root version N+1 (new keys for roles with --set), signed by enough old\n"
     "and new root keys (--key, repeatable); version N is kept in root-history/.",
     {"trust", "key", "set", "root-threshold", "days", "out", "passphrase-fd", "json"}},
    {"revoke",
     "write version N+1 with --keyid IDs revoked",
     "--trust FILE --key ROOT_KEY... --keyid ID... [--days N] [--out FILE] [--json]",
     "Writes trust root version N+1 with the key ids revoked.",
     {"trust", "key", "keyid", "days", "out", "passphrase-fd", "json"}},
    {"sign-manifest",
     "sign product manifests: FILE.toml -> FILE.toml.dsse.json",
     "--trust FILE --key MANIFEST_KEY FILE.toml|DIR...",
     "Signs product manifests with a manifest key: FILE.toml -> FILE.toml.dsse.json.",
     {"trust", "key", "passphrase-fd", "json"}},
};

int dispatch(const std::string& cmd, const audit::cli::Args& args,
             const std::vector<std::string>& rest) {
    if (cmd == "sign-manifest") return cmd_sign_manifest(args, rest);
    if (!rest.empty()) throw UsageError("unexpected argument '" + rest[0] + "'");
    if (cmd == "init") return cmd_init(args);
    if (cmd == "show") return cmd_show(args);
    if (cmd == "generate") return cmd_generate(args);
    if (cmd == "certify") return cmd_certify(args);
    if (cmd == "rotate-root") return cmd_rotate_root(args);
    if (cmd == "revoke") return cmd_revoke(args);
    throw UsageError("unknown subcommand '" + cmd + "' (see --help)");
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run(kTool, [&] {
        // "audit-keys SUB ...": the subcommand's own options and help.
        if (argc > 1)
            for (const auto& sub : kSubcommands) {
                if (sub.name != std::string_view(argv[1])) continue;
                std::vector<audit::cli::Option> options;
                for (const auto& o : kOptions)
                    if (std::find(sub.options.begin(), sub.options.end(), o.name) !=
                        sub.options.end())
                        options.push_back(o);
                audit::cli::Args args(argc - 1, argv + 1, std::string(kTool) + " " + sub.name,
                                      sub.synopsis, options,
                                      std::string(sub.description) +
                                          "\nThe passphrase comes from --passphrase-fd, else "
                                          "AUDIT_PASSPHRASE, else the terminal.");
                return dispatch(sub.name, args, args.positional());
            }
        std::string list = "Subcommands (each has --help):\n";
        for (const auto& sub : kSubcommands) {
            std::string name = std::string("  ") + sub.name;
            name.resize(17, ' ');
            list += name + sub.summary + "\n";
        }
        audit::cli::Args args(argc, argv, kTool, "SUBCOMMAND [options] (see below)", kOptions,
                              list +
                                  "The passphrase comes from --passphrase-fd, else "
                                  "AUDIT_PASSPHRASE, else the terminal.");
        const auto& pos = args.positional();
        if (pos.empty()) throw UsageError("missing subcommand (see --help)");
        return dispatch(pos[0], args, std::vector<std::string>(pos.begin() + 1, pos.end()));
    });
}
