// Self-confinement with Landlock (Linux >= 5.13): after confine(), this process (and threads it
// starts later) may read files under the audited root but write nothing there, and may create
// and write files only under the output directory. Irreversible for the process: tools only.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "audit/fs/readonly_view.h"

namespace audit::fs {

struct Confinement {
    bool active = false;  // Landlock confines the process
    int abi = 0;          // Landlock ABI version of the kernel (0: none)
    std::string reason;   // why Landlock is not active ("" when active)
    // What keeps the root unchanged: "mount_namespace" (a read-only, noatime view of the root,
    // readonly_view.h; Landlock may confine the process as well), "landlock" or "none".
    std::string method = "none";
    std::string view_reason;  // why there is no read-only view ("" when there is, or not tried)

    // {"method": "landlock", "landlock": true, "abi": 7} or {..., "landlock": false, "reason":
    // "..."}, plus "readonly_view": why not when a view was tried; recorded in bundles.
    nlohmann::json to_json() const;
};

// Read-only access beneath read_root (and the process's own /proc/self), full access beneath
// write_dir, nothing else. Never throws: a kernel without Landlock gives active = false.
// AUDIT_LANDLOCK=off in the environment skips it (recorded as such).
Confinement confine(const std::string& read_root, const std::string& write_dir);

// The same, on top of a read-only view made before (make_readonly_view): method
// "mount_namespace" when the view is active, else as above, with the view's reason recorded.
Confinement confine(const std::string& read_root, const std::string& write_dir,
                    const ReadonlyView& view);

}  // namespace audit::fs
