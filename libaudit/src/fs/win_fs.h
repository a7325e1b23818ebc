// Windows only (the windows preset): the Win32 pieces shared by root_win.cpp, walker_win.cpp and
// parallel_walker_win.cpp (win_fs_win.cpp).
#pragma once
#ifdef _WIN32

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

typedef void* HANDLE;

namespace audit::fs::win {

// errno for a Win32 error code (ENOENT, EACCES, EBUSY for sharing violations, ... EIO).
int errno_of(unsigned long error);
// "what: <strerror of errno_of> (<Windows text>, <code>)": the strerror words first, so that
// "Permission denied" reads as on Linux (scan coverage counts those).
std::string error_text(const char* what, unsigned long error);
// root + rel ('/' separated, root-relative) as a \\?\ path for the wide API.
std::wstring full_path(const std::string& root, std::string_view rel);
// The same on a live root, where every fixed drive is walked: a first segment "/X:" names drive
// X: ("/D:/x" -> \\?\D:\x); any other path is root + rel.
std::wstring full_path(const std::string& root, std::string_view rel, bool live);
// rel is '/'-separated names only, save for a leading "/X:" when live: no '\\', ':' or NUL (a
// stream "name:stream", a separator, a drive: no entry of a directory has such a name, so
// nothing is lost by refusing it).
bool plain_rel(std::string_view rel, bool live);
// CreateFileW, read-only, backup semantics, reparse point opened itself, sharing
// read|write|delete, sequential scan. for_data: GENERIC_READ (file contents, directory
// listing); else attributes only. INVALID_HANDLE_VALUE on failure (GetLastError()).
// follow: without FILE_FLAG_OPEN_REPARSE_POINT (only for reparse points that are no link, e.g.
// deduplicated files, whose data a filter presents).
HANDLE open_handle(const std::wstring& path, bool for_data, bool follow = false);
// A CRT descriptor owning h (binary mode); -1 (h closed, errno EMFILE) on failure.
int to_fd(HANDLE h);
HANDLE handle_of(int fd);

struct Info {
    unsigned long attributes = 0;
    std::uint64_t size = 0;
    unsigned long volume = 0;
    std::uint64_t index = 0;             // file index on the volume (the inode)
    std::uint64_t mtime = 0, ctime = 0;  // FILETIME ticks
    unsigned long links = 0;
    unsigned long reparse_tag = 0;  // 0 unless FILE_ATTRIBUTE_REPARSE_POINT
};
bool info_of(HANDLE h, Info& out);
std::uint64_t filetime_ticks(unsigned long low, unsigned long high);
std::int64_t unix_seconds(std::uint64_t filetime_ticks);

// The target of a symbolic link or junction (print name), "reparse:0xTAG" for other tags; ""
// with error set when it cannot be read. h: opened with FILE_FLAG_OPEN_REPARSE_POINT.
std::string reparse_target(HANDLE h, std::string& error);

struct Found {
    std::string name;  // UTF-8
    unsigned long attributes = 0;
    unsigned long reparse_tag = 0;
    std::uint64_t size = 0;
    std::uint64_t mtime = 0;  // FILETIME ticks
};
// A symbolic link or junction (a name surrogate: IsReparseTagNameSurrogate).
bool name_surrogate(unsigned long tag);
// A placeholder whose data lives elsewhere (cloud files, HSM): reading it would recall the data,
// i.e. write to the host. Never opened for data.
bool recall_on_read(unsigned long attributes, unsigned long tag);
// Entries of a directory (not . and ..), byte order of their UTF-8 names; false with error set
// when the listing failed or was cut short (what was read stays in out).
bool list_names(const std::wstring& dir, std::vector<Found>& out, std::string& error);

}  // namespace audit::fs::win

#endif
