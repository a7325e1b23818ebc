// Product manifests: one TOML file per product family (see manifests/README.md).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace audit::manifest {

enum class Confidence { definitive, strong, weak };
const char* to_string(Confidence c);

enum class RuleKind {
    package,     // package names (glob) in one ecosystem: deb, rpm, ...
    publisher,   // vendor / maintainer patterns (glob, case-insensitive) in an ecosystem or all
    path,        // path globs under the root ("/opt/kaspersky/**")
    file_hash,   // sha256 / sha384 digests of files
    service,     // service / unit names (systemd units, SysV init scripts, Windows services)
    module,      // kernel module names
    registry,    // Windows registry key paths (globs, '\' separated: "HKLM\SOFTWARE\Vendor\**")
    pe_signer,   // Authenticode signer subjects of PE files (glob, case-insensitive)
    pe_version,  // PE version resource CompanyName / ProductName (globs, case-insensitive)
    macho_team,  // Apple Team IDs in Mach-O code signatures (exact, case-sensitive globs)
    // Trust-store certificates by subject CN or whole subject (globs, case-insensitive)
    certificate,
    all_of,  // corroboration: what every listed rule of the manifest matched (same subject)
};
const char* to_string(RuleKind k);

struct Rule {
    std::string id;  // unique within the manifest
    Confidence confidence = Confidence::strong;
    RuleKind kind = RuleKind::package;
    std::string ecosystem;              // package/publisher rules: "deb", "rpm", ... ("" = any)
    std::vector<std::string> patterns;  // names, globs or hex digests (pe_version: CompanyName)
    std::vector<std::string> products;  // pe_version only: ProductName globs
    // all_of only: the ids of the rules (two or more, none all_of) that must all match one
    // subject (an inventory item, or a file path: a PE file and a path rule meet on its path).
    std::vector<std::string> all_of;
    // false: the rule is a part of all_of rules only, never reported on its own.
    bool standalone = true;
    // Records name the installed item that owns the file ("owned_by": a package listing the
    // path, or a Windows Uninstall/MSI entry whose install folder holds it), so technology
    // embedded in another vendor's product is reported with that product.
    bool owner = false;
    // Owners whose publisher or name matches one of these globs (case-insensitive) drop the
    // record: the vendor's own products are not "technology inside" anything. Implies owner.
    std::vector<std::string> exclude_owners;
    // Records of files under these absolute globs are dropped (compared without case on a
    // Windows root), e.g. the vendor's own install folders for a "technology inside" rule.
    std::vector<std::string> exclude_paths;
    // Matches of this rule are residue (left-over configuration or data such as /etc/opt/...),
    // reported with the product but never proof that it is installed.
    bool residue = false;
    // The product line the rule identifies ("endpoint-linux", "network-agent", ...; the set used
    // by kaspersky.toml is listed in manifests/README.md). Same syntax as ids; "" = not given,
    // reported as "unspecified".
    std::string family;
    std::string description;
};

struct Manifest {
    std::string id;  // "kaspersky"
    std::string name;
    std::string vendor;
    std::string version;  // manifest content version
    std::vector<std::string> aliases;
    std::vector<std::string> references;
    std::vector<Rule> rules;

    std::string file;            // file name, as recorded in evidence ("kaspersky.toml")
    std::string path;            // where it was loaded from (load_manifests only)
    std::string sha256, sha384;  // of the file's bytes
};

// The ecosystems a rule may name: exactly those some source produces.
std::vector<std::string> known_ecosystems();

// Parse one manifest. Throws UsageError "FILE:LINE:COLUMN: message" on malformed input
// (TOML syntax or schema: unknown keys, missing fields, bad confidence, duplicate rule ids).
Manifest parse_manifest(std::string_view text, const std::string& filename);

// Called with each file's path and exact bytes before they are parsed; throws to refuse the file
// unparsed (a manifest whose signature is required is verified against its bytes here).
using BeforeParse = std::function<void(const std::string& path, std::string_view bytes)>;

// Load a manifest file, or every *.toml in a directory (sorted by name). before_parse, when
// given, sees every file's bytes before the TOML parser does.
std::vector<Manifest> load_manifests(const std::string& path, const BeforeParse& before_parse = {});

}  // namespace audit::manifest
