// Host identity as read from a root: what lets an inspector match bundles of the same host.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/fs/root.h"

namespace audit::host {

struct HostIdentity {
    std::string hostname;          // etc/hostname (or the live uname when scanning "/")
    std::string machine_id;        // etc/machine-id (32 hex)
    std::string dmi_product_uuid;  // /sys/class/dmi/id/product_uuid, live root only, where readable
    std::string dmi_product_serial;  // /sys/class/dmi/id/product_serial, live only, no placeholder
    // UUID of the filesystem at the root: live, the block device in /dev/disk/by-uuid whose
    // device number is the root's; else etc/fstab's UUID= entry for "/".
    std::string root_fs_uuid;
    // "SHA256:<base64>" fingerprints of etc/ssh/ssh_host_*_key.pub (as ssh-keygen -lf prints
    // them), sorted, joined by single spaces.
    std::string ssh_host_keys;
    // A Windows root: SOFTWARE Microsoft\Cryptography\MachineGuid (lower case); the hostname
    // then comes from SYSTEM's ComputerName and the OS fields from Windows NT\CurrentVersion.
    std::string windows_machine_guid;
    std::string windows_machine_sid;  // "S-1-5-21-a-b-c" from the SAM (or SECURITY) hive
    // The NetBIOS computer name (SYSTEM's ComputerName; live: GetComputerNameW) and, on a live
    // Windows, the DNS domain the machine belongs to (GetComputerNameExW(ComputerNameDnsDomain):
    // "" in a workgroup). Descriptive only: names change, so neither is a stable id.
    std::string windows_computer_name, windows_domain;
    // The hardware UUID in Users/*/Library/Preferences/ByHost/*.<UUID>.plist names (upper case).
    std::string macos_hardware_uuid;
    // The operating system recognised on the root: "linux", "windows", "macos" or "", the file
    // that showed it, and, when the root is not a whole system, why not.
    std::string os_family, os_evidence, not_a_system;
    std::string os_id, os_version_id, os_pretty_name;  // etc/os-release
    bool live = false;                                 // scanned the running system
    // What could not be read about the host and why (live Windows: "SMBIOS unavailable: ...");
    // host.json lists them only when there are any.
    std::vector<std::string> notes;
    std::string root;  // the path that was scanned

    nlohmann::json to_json() const;  // host.json
    // Stable identifiers only (every field above but the hostname and the OS fields), keys
    // present only when read: what host matching keys on (predicate host.ids).
    nlohmann::json stable_ids() const;
    // For file names: [A-Za-z0-9.-] only, never empty ("unknown-host").
    std::string label() const;
};

HostIdentity identify(const fs::Root& root);

// KEY=value pairs of etc/os-release (else usr/lib/os-release), shell quoting undone; empty when
// neither exists or it cannot be read.
std::map<std::string, std::string> os_release(const fs::Root& root);

// The sha256 fingerprint of one OpenSSH public key line ("type base64 [comment]"), as
// `ssh-keygen -lf` prints it: "SHA256:" + unpadded base64 of sha256(decoded blob); "" when the
// line is not a public key.
std::string ssh_fingerprint(std::string_view pub_line);

}  // namespace audit::host
