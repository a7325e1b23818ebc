// A read-only view of the audited root, made by the kernel rather than by our care: in a private
// mount namespace of this process, --root is bind-mounted onto itself (recursively) read-only,
// noatime and nosuid, so nothing the scan does (reading a symlink, a file, a directory) can
// change it, access times included. The bind exists only in this process's namespace; the host
// never sees it. The output directory stays writable even when it lies under the root.
#pragma once

#include <string>

namespace audit::fs {

struct ReadonlyView {
    bool active = false;  // --root is read-only and noatime for this process
    std::string reason;   // why not ("" when active)
};

// Needs root (CAP_SYS_ADMIN) and a single-threaded process: call it before any thread starts
// (unshare(CLONE_NEWNS) fails in a multithreaded process) and before Landlock (a sandboxed
// process may not change mounts). Never throws; inactive with a reason when it cannot be made
// (not root, no unshare, the output directory contains the root, ...), and then the mounts of
// this process are as they were. AUDIT_READONLY_VIEW=off in the environment skips it.
ReadonlyView make_readonly_view(const std::string& root, const std::string& writable_dir);

}  // namespace audit::fs
