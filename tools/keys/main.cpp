// audit-keys: create an authority (trust root and role keys) and show what a trust root holds.
#include <algorithm>
#include <string>

#include "audit/error.h"
#include "keys_tool.h"

namespace {

using audit::UsageError;
using namespace audit::keys_tool;

constexpr const char* kTool = "audit-keys";

const std::vector<audit::cli::Option> kOptions = {
    {"dir", "DIR", "init: directory for trust.json and the role keys"},
    {"profile", "P", "init, generate: hybrid (ECDSA P-384 + ML-DSA-87, default), ecdsa, ed25519"},
    {"days", "N",
     "validity in days (init, rotate-root, revoke: 365; certify: 90; certify-site: 365)"},
    {"trust", "FILE", "the trust root to read (and, for rotate-root/revoke, to succeed)"},
    {"key", "FILE",
     "signing key (certify: kit or root key; certify-site: root key; rotate-root/revoke: root "
     "keys, "
     "repeatable; sign-manifest: manifest key)",
     true},
    {"role", "R", "generate: root, kit, collector, inspector or manifest"},
    {"out", "FILE",
     "generate/certify: file to write; rotate-root/revoke: new trust root (default: "
     "replace --trust)"},
    {"collector", "FILE", "certify: the collector's .pub.json or key file"},
    {"kit", "ID", "certify: the kit id the collector may sign for"},
    {"site", "NAME", "certify-site: the site the key may sign summaries for"},
    {"site-key", "FILE", "certify-site: the site inspector's .pub.json or key file"},
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
    {"certify-site",
     "delegate site summaries to a site inspector key for one site and a window",
     "--trust FILE --key ROOT_KEY --site-key PUB --site NAME --out FILE\n"
     "       [--days N | --not-before TIME --not-after TIME] [--json]",
     "Delegates the signing of site summaries (audit-attest site-summary) to one site\n"
     "inspector key for one named site and a validity window; the certificate is signed by\n"
     "a root key of the trust root (the root role delegates sites).",
     {"trust", "key", "site-key", "site", "not-before", "not-after", "days", "out", "passphrase-fd",
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
    if (cmd == "certify-site") return cmd_certify_site(args);
    if (cmd == "rotate-root") return cmd_rotate_root(args);
    if (cmd == "revoke") return cmd_revoke(args);
    throw UsageError("unknown subcommand '" + cmd + "' (see --help)");
}

}  // namespace

int main(int argc, char** argv) {
    return audit::cli::run(kTool, argc, argv, [&] {
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
                audit::cli::check_kit(args, kTool);
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
        audit::cli::check_kit(args, kTool);
        const auto& pos = args.positional();
        if (pos.empty()) throw UsageError("missing subcommand (see --help)");
        return dispatch(pos[0], args, std::vector<std::string>(pos.begin() + 1, pos.end()));
    });
}
