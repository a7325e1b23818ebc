// Self-confinement with Landlock (Linux >= 5.13): after confine(), this process (and threads it
// starts later) may read files under the audited root but write nothing there, and may create
// and write files only under the output directory. Irreversible for the process: tools only.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace audit::fs {

struct Confinement {
    bool active = false;
    int abi = 0;         // Landlock ABI version of the kernel (0: none)
    std::string reason;  // why it is not active ("" when active)

    // {"landlock": true, "abi": 7} or {"landlock": false, "reason": "..."}; recorded in bundles.
    nlohmann::json to_json() const;
};

// Read-only access beneath read_root (and the process's own /proc/self), full access beneath
// write_dir, nothing else. Never throws: a kernel without Landlock gives active = false.
// AUDIT_LANDLOCK=off in the environment skips it (recorded as such).
Confinement confine(const std::string& read_root, const std::string& write_dir);

}  // namespace audit::fs
