// Self-check of a tool started from a kit: its own binary, the trust root and every file it loads
// from the kit are compared with the signed kit manifest before anything else happens.
// What it proves and what it cannot: README.md, "The kit" (a tampered binary can lie about itself;
// the inspector's `audit-kit check` on a trusted machine is the real check).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/kit/kit_manifest.h"

namespace audit::kit {

struct KitLocation {
    std::string kit_dir;   // absolute
    std::string tool_rel;  // "bin/audit-scan", "bin/windows/audit-scan.exe"
};

// The running binary's own image: "/proc/self/exe" on Linux (the inode being executed), the
// path GetModuleFileNameW names on Windows. IoError when Windows names none.
std::string own_executable();

// The kit the running binary belongs to: its own path (exe, default own_executable()) is
// KIT/bin/NAME (the Linux tools) or KIT/bin/windows/NAME (the Windows .exe tools), and
// KIT/kit.manifest.dsse.json exists. nullopt otherwise.
std::optional<KitLocation> locate_kit(const std::string& exe = own_executable());

struct SelfCheck {
    KitLocation location;
    std::optional<SealedKit> kit;     // the verified kit manifest, when it verified
    std::string kit_manifest_sha256;  // of the manifest file's bytes, whether it verified or not
    std::vector<std::string> problems;
    double millis = 0;  // time the checks took

    bool verified() const { return kit.has_value() && problems.empty(); }
    std::string kit_dir() const { return location.kit_dir; }
    // Records a problem unless path (a file the tool loads) lies in the kit and its SHA-384 is the
    // one the kit manifest lists. sha384 empty: hashed here. Returns true when it matched.
    bool check_loaded(const std::string& path, std::string sha384 = "");
    nlohmann::json to_json() const;  // {"status", "kit_id", "version", "problems", "millis", ...}
};

// Verify the kit manifest with the kit's own trust root (KIT/trust/trust.json, not expired), the
// kit's expiry, and the running binary (read through exe, the inode being executed) against its
// entry. Never throws for a failed check: problems are collected so that an override can go on.
SelfCheck self_check(const KitLocation& where, const std::string& exe = own_executable());

}  // namespace audit::kit
