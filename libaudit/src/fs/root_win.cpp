// Windows port of fs/root.cpp: a directory tree opened read-only through the wide API.
// Every handle is opened for reading only (never GENERIC_WRITE, FILE_WRITE_ATTRIBUTES or DELETE),
// with FILE_FLAG_BACKUP_SEMANTICS (directories open; SeBackupPrivilege applies when the token
// holds it), FILE_FLAG_OPEN_REPARSE_POINT (a final reparse point is opened itself, never
// followed) and sharing read|write|delete (the running system keeps working around the scan).
// Handles are carried as CRT descriptors (_open_osfhandle) so that UniqueFd and the portable
// readers (::read) work unchanged. Paths are UTF-8, root-relative, '/'-separated; long paths get
// the \\?\ prefix (fs/win_fs.h).
#include "audit/fs/root.h"

#include <windows.h>
#include <winioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "audit/core/win_path.h"
#include "audit/error.h"
#include "win_fs.h"

namespace audit::fs {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::_close(fd_);
        fd_ = o.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) {
        int saved = errno;
        ::_close(fd_);
        errno = saved;
    }
}

namespace {

std::vector<std::string> split(std::string_view p) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i <= p.size()) {
        std::size_t j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        if (j > i) out.emplace_back(p.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// The handle's file is the same object as path's (the system drive's root for is_live()).
bool same_file(HANDLE h, const std::wstring& path) {
    HANDLE o = win::open_handle(path, false);
    if (o == INVALID_HANDLE_VALUE) return false;
    win::Info a, b;
    const bool same =
        win::info_of(h, a) && win::info_of(o, b) && a.volume == b.volume && a.index == b.index;
    CloseHandle(o);
    return same;
}

}  // namespace

// Lexical on Windows too: the path given to the wide API is always "..-free", so ".." never
// climbs above the root (with the \\?\ prefix Windows would not resolve it either).
std::string normalize(std::string_view rel) {
    std::vector<std::string> parts;
    for (auto& c : split(rel)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(std::move(c));
    }
    if (parts.empty()) return "/";
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out;
}

Root::Root(const std::string& path, Resolver resolver) : path_(path) {
    (void)resolver;  // one resolver on Windows: lexical paths, final reparse points not followed
    const std::wstring w = win::full_path(path, "");
    HANDLE h = win::open_handle(w, false);
    if (h == INVALID_HANDLE_VALUE)
        throw IoError("cannot open root " + path + ": " + win::error_text("open", GetLastError()));
    win::Info info;
    if (!win::info_of(h, info) || !(info.attributes & FILE_ATTRIBUTE_DIRECTORY)) {
        CloseHandle(h);
        throw IoError("cannot open root " + path + ": not a directory");
    }
    const int fd = win::to_fd(h);
    if (fd < 0) throw IoError("cannot open root " + path + ": out of descriptors");
    fd_ = UniqueFd(fd);
    // Make sure the directory can actually be listed.
    std::vector<win::Found> probe;
    std::string error;
    if (!win::list_names(w, probe, error)) throw IoError("cannot read root " + path + ": " + error);
    // Live: the root is the running system's drive (the drive of the Windows directory).
    wchar_t windir[MAX_PATH + 1] = {};
    const UINT n = GetSystemWindowsDirectoryW(windir, MAX_PATH);
    if (n >= 3 && n <= MAX_PATH && windir[1] == L':') {
        const std::wstring drive = std::wstring(L"\\\\?\\") + windir[0] + L":\\";
        live_ = same_file(h, drive);
    }
}

UniqueFd Root::open(std::string_view rel, bool directory) const {
    if (!win::plain_rel(rel, live_)) {
        errno = rel.find('\0') != std::string_view::npos ? EINVAL : ENOENT;
        return {};
    }
    const std::string r = normalize(rel);
    const std::wstring w = win::full_path(path_, r == "/" ? "" : r, live_);
    HANDLE h = win::open_handle(w, true);
    if (h == INVALID_HANDLE_VALUE) {
        errno = win::errno_of(GetLastError());
        return {};
    }
    win::Info info;
    if (!win::info_of(h, info)) {
        errno = win::errno_of(GetLastError());
        CloseHandle(h);
        return {};
    }
    int err = 0;
    const bool is_dir = info.attributes & FILE_ATTRIBUTE_DIRECTORY;
    if (info.attributes & FILE_ATTRIBUTE_REPARSE_POINT)
        err = ELOOP;  // a symbolic link, junction or any other reparse point: never followed
    else if (!directory &&
             (info.attributes & (FILE_ATTRIBUTE_OFFLINE | 0x00400000 /*RECALL_ON_DATA_ACCESS*/)))
        err = EAGAIN;  // reading would recall it from remote storage: a write to the host
    else if (is_dir && !directory)
        err = EISDIR;
    else if (!is_dir && directory)
        err = ENOTDIR;
    if (err != 0) {
        CloseHandle(h);
        errno = err;
        return {};
    }
    const int fd = win::to_fd(h);
    if (fd < 0) return {};
    return UniqueFd(fd);
}

std::optional<std::string> Root::read_file(std::string_view rel, std::size_t max_bytes) const {
    const std::string shown = normalize(rel);
    UniqueFd f = open(rel, false);
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IoError("cannot open " + path_ + shown + ": " + std::strerror(errno));
    }
    std::string out;
    std::vector<char> buf(65536);
    HANDLE h = win::handle_of(f.get());
    for (;;) {
        DWORD n = 0;
        if (!ReadFile(h, buf.data(), static_cast<DWORD>(buf.size()), &n, nullptr))
            throw IoError("cannot read " + path_ + shown + ": " +
                          win::error_text("read", GetLastError()));
        if (n == 0) break;
        if (out.size() + n > max_bytes)
            throw IoError(path_ + shown + " is larger than " + std::to_string(max_bytes) +
                          " bytes");
        out.append(buf.data(), n);
    }
    return out;
}

std::optional<std::vector<std::string>> Root::list_dir(std::string_view rel) const {
    const std::string shown = normalize(rel);
    UniqueFd f = open(rel, true);
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
        throw IoError("cannot open directory " + path_ + shown + ": " + std::strerror(errno));
    }
    std::vector<win::Found> found;
    std::string error;
    if (!win::list_names(win::full_path(path_, shown == "/" ? "" : shown, live_), found, error))
        throw IoError("cannot list " + path_ + shown + ": " + error);
    std::vector<std::string> names;
    names.reserve(found.size());
    for (auto& e : found) names.push_back(std::move(e.name));
    return names;
}

std::optional<std::string> Root::read_link(std::string_view rel) const {
    const std::string shown = normalize(rel);
    if (shown == "/" || !win::plain_rel(rel, live_)) return std::nullopt;
    HANDLE h = win::open_handle(win::full_path(path_, shown, live_), false);
    if (h == INVALID_HANDLE_VALUE) {
        const DWORD e = GetLastError();
        if (win::errno_of(e) == ENOENT) return std::nullopt;
        throw IoError("cannot read link " + path_ + shown + ": " + win::error_text("open", e));
    }
    win::Info info;
    std::optional<std::string> out;
    std::string error;
    if (win::info_of(h, info) && (info.attributes & FILE_ATTRIBUTE_REPARSE_POINT))
        out = win::reparse_target(h, error);
    CloseHandle(h);
    if (!error.empty()) throw IoError("cannot read link " + path_ + shown + ": " + error);
    return out;
}

}  // namespace audit::fs
