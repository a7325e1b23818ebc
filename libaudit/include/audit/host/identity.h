// Host identity as read from a root: what lets an inspector match bundles of the same host.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "audit/fs/root.h"

namespace audit::host {

struct HostIdentity {
    std::string hostname;          // etc/hostname (or the live uname when scanning "/")
    std::string machine_id;        // etc/machine-id (32 hex)
    std::string dmi_product_uuid;  // /sys/class/dmi/id/product_uuid, live root only, where readable
    // A Windows root: SOFTWARE Microsoft\Cryptography\MachineGuid (lower case); the hostname
    // then comes from SYSTEM's ComputerName and the OS fields from Windows NT\CurrentVersion.
    std::string windows_machine_guid;
    std::string os_id, os_version_id, os_pretty_name;  // etc/os-release
    bool live = false;                                 // scanned the running system
    std::string root;                                  // the path that was scanned

    nlohmann::json to_json() const;  // host.json
    // Stable identifiers only (machine-id, Windows MachineGuid, DMI UUID): what host matching
    // keys on.
    nlohmann::json stable_ids() const;
    // For file names: [A-Za-z0-9.-] only, never empty ("unknown-host").
    std::string label() const;
};

HostIdentity identify(const fs::Root& root);

// KEY=value pairs of etc/os-release (else usr/lib/os-release), shell quoting undone; empty when
// neither exists or it cannot be read.
std::map<std::string, std::string> os_release(const fs::Root& root);

}  // namespace audit::host
