// Read-only walk and one-read hashing of files under a Root (digests per DigestPolicy).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/core/hex.h"
#include "audit/fs/digest.h"
#include "audit/fs/read_ring.h"
#include "audit/fs/root.h"

namespace audit::fs {

// One line of files.jsonl.
struct FileRecord {
    std::string path;  // root-relative, "/opt/x/bin/y"
    // file, dir, symlink, fifo, socket, char, block, missing, unknown (lstat failed)
    std::string type;
    std::uint64_t size = 0;
    std::uint32_t mode = 0;  // permission bits
    std::uint32_t uid = 0, gid = 0;
    std::int64_t mtime = 0;              // seconds since epoch
    std::string link_target;             // symlinks only
    std::optional<FileDigests> digests;  // regular files that were hashed
    std::string error;                   // why it could not be hashed ("" when fine)
    std::string skipped;    // directories not descended: "other-filesystem", "max-depth"
    bool unstable = false;  // changed while being hashed

    nlohmann::json to_json() const;
    // The same line as to_json().dump() (no newline), appended without building a json object.
    // Paths and link targets that are not UTF-8 are shown with U+FFFD for each bad byte and
    // given exactly in "path_hex" / "link_hex".
    void append_json(std::string& out) const;
};

struct WalkOptions {
    bool hash = true;            // hash regular files
    DigestPolicy digests;        // which digests (default sha256)
    bool one_filesystem = true;  // do not cross mount points
    std::uint64_t max_depth = 4096;
    IoPath io = IoPath::automatic;  // the parallel walk's system calls (read_ring.h)
    // Tests only: called with a regular file's path between its read and the fstat after it (a
    // change made there must show as unstable, on every I/O path).
    std::function<void(const std::string&)> after_read;
};

struct WalkStats {
    std::uint64_t files = 0, dirs = 0, bytes_hashed = 0, errors = 0;
    std::uint64_t skipped_special = 0, skipped_other_fs = 0;
    // How the parallel walk read files: "io_uring", "posix", or "posix (io_uring ...: why not)"
    // (coverage.json walk.stats.io; empty, and not shown, where no such choice is made: Windows).
    std::string io;
    nlohmann::json to_json() const;
};

// Describe (and hash, when a regular file) one path under the root. Never follows a final symlink,
// never opens FIFOs, sockets or devices. A missing path gives type "missing".
FileRecord inspect(const Root& root, std::string_view rel, bool hash = true,
                   const DigestPolicy& digests = {});

// Walk a subtree (pre-order, entries in byte order of names), calling sink for each entry including
// rel itself. A missing start path calls nothing. Errors on single entries are recorded in the
// record, not thrown.
void walk(const Root& root, std::string_view rel, const WalkOptions& options,
          const std::function<void(FileRecord&&)>& sink, WalkStats& stats);

// Hash a byte string (used for evidence files and manifests): core/hex.h (names kept for callers).
using core::sha256_hex;
using core::sha384_hex;

}  // namespace audit::fs
