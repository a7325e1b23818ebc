// Pieces shared by the files of fs/: the sequential and parallel walks, the root, the Windows
// port (one definition each, where there were copies).
#pragma once

#include <cstddef>

#ifndef _WIN32
#include <sys/stat.h>
#endif

namespace audit::fs::detail {

// Entries one directory may list before its listing is cut short with an error ("too many
// entries"): a hostile directory cannot make a walk hold unbounded names.
inline constexpr std::size_t kMaxDirEntries = 16u << 20;

#ifndef _WIN32
// The same file (device and inode): what a second look at a path must still find.
inline bool same_inode(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
#endif

}  // namespace audit::fs::detail
