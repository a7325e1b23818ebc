// Pieces shared by the sequential and the parallel walker.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "audit/fs/digest.h"
#include "audit/fs/walker.h"
#include "fs_shared.h"

namespace audit::fs::detail {

std::string errtext(const char* what, int e);
const char* type_of(mode_t m);
void fill(FileRecord& rec, const struct stat& st);
std::string read_link(int dirfd, const char* name, std::string& error);
std::string join(const std::string& dir, std::string_view name);

// Hash fd, opened on a regular file whose fstat was before: digests, or error; unstable when
// anything shows the content moved while it was read. Adds the bytes read to bytes_hashed.
// first: the first read, when the caller did it (io_uring); after_read: the tests' hook
// (WalkOptions::after_read), called between the read and the fstat after it.
void hash_opened(FileHasher& hasher, int fd, const struct stat& before, FileRecord& rec,
                 std::uint64_t& bytes_hashed, const FileHasher::FirstRead* first = nullptr,
                 const WalkOptions* options = nullptr);

}  // namespace audit::fs::detail
