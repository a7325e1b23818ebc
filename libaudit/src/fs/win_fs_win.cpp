// Win32 file-system helpers of the Windows ports (root_win.cpp, walker_win.cpp): read-only
// handles, directory listing with FindFirstFileExW (large fetch), reparse points read, never
// followed. Built only by the windows preset.
#include "win_fs.h"

#include "audit/core/drive_path.h"

#include <windows.h>
#include <winioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "audit/core/win_path.h"
#include "fs_shared.h"

namespace audit::fs {

namespace win {

int errno_of(unsigned long e) {
    switch (e) {
        case ERROR_FILE_NOT_FOUND:
        case ERROR_PATH_NOT_FOUND:
        case ERROR_INVALID_NAME:
        case ERROR_BAD_NETPATH:
            return ENOENT;
        case ERROR_DIRECTORY:
            return ENOTDIR;
        case ERROR_ACCESS_DENIED:
        case ERROR_PRIVILEGE_NOT_HELD:
            return EACCES;
        case ERROR_SHARING_VIOLATION:
        case ERROR_LOCK_VIOLATION:
            return EBUSY;
        case ERROR_FILENAME_EXCED_RANGE:
            return ENAMETOOLONG;
        case ERROR_TOO_MANY_OPEN_FILES:
            return EMFILE;
        case ERROR_NOT_ENOUGH_MEMORY:
        case ERROR_OUTOFMEMORY:
            return ENOMEM;
        default:
            return EIO;
    }
}

std::string error_text(const char* what, unsigned long e) {
    // strerror's words for the errno (so that "Permission denied" is recognised as on Linux),
    // then Windows' own text and code.
    return std::string(what) + ": " + std::strerror(errno_of(e)) + " (" + core::win_error_text(e) +
           ", " + std::to_string(e) + ")";
}

std::wstring full_path(const std::string& root, std::string_view rel) {
    std::string p = root;
    while (!p.empty() && (p.back() == '\\' || p.back() == '/')) p.pop_back();
    for (char c : rel) p.push_back(c == '/' ? '\\' : c);
    if (p.size() == 2 && p[1] == ':') p.push_back('\\');  // "C:" alone is a current directory
    std::wstring w = core::wide_path(p);
    for (auto& c : w)
        if (c == L'/') c = L'\\';
    // Every drive path gets \\?\: no MAX_PATH, no trailing-dot or -space trimming, no device
    // names (a file "CON" is a file). A UNC path \\server\share becomes \\?\UNC\server\share.
    if (w.rfind(L"\\\\?\\", 0) == 0) return w;
    if (w.size() >= 2 && w[1] == L':') return L"\\\\?\\" + w;
    if (w.rfind(L"\\\\", 0) == 0) return L"\\\\?\\UNC\\" + w.substr(2);
    return w;
}

std::wstring full_path(const std::string& root, std::string_view rel, bool live) {
    std::string_view rest;
    if (live) {
        if (const char d = core::windows_drive_of(rel, &rest))
            return full_path(std::string(1, d) + ":\\", rest == "/" ? std::string_view() : rest);
    }
    return full_path(root, rel);
}

bool plain_rel(std::string_view rel, bool live) {
    std::string_view rest = rel;
    if (live && core::windows_drive_of(rel, &rest) == '\0') rest = rel;
    return rest.find('\\') == std::string_view::npos && rest.find(':') == std::string_view::npos &&
           rest.find('\0') == std::string_view::npos;
}

HANDLE open_handle(const std::wstring& path, bool for_data, bool follow) {
    // Directories: list and read attributes; files: read data. Never anything that writes.
    const DWORD access = for_data ? (GENERIC_READ) : (FILE_READ_ATTRIBUTES | SYNCHRONIZE);
    return CreateFileW(path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                       nullptr, OPEN_EXISTING,
                       FILE_FLAG_BACKUP_SEMANTICS | (follow ? 0 : FILE_FLAG_OPEN_REPARSE_POINT) |
                           FILE_FLAG_SEQUENTIAL_SCAN,
                       nullptr);
}

int to_fd(HANDLE h) {
    const int fd = _open_osfhandle(reinterpret_cast<intptr_t>(h), _O_RDONLY | _O_BINARY);
    if (fd < 0) {
        CloseHandle(h);
        errno = EMFILE;
        return -1;
    }
    _setmode(fd, _O_BINARY);
    return fd;
}

HANDLE handle_of(int fd) {
    const intptr_t h = _get_osfhandle(fd);
    return h == -1 ? INVALID_HANDLE_VALUE : reinterpret_cast<HANDLE>(h);
}

bool info_of(HANDLE h, Info& out) {
    BY_HANDLE_FILE_INFORMATION bh{};
    if (!GetFileInformationByHandle(h, &bh)) return false;
    out.attributes = bh.dwFileAttributes;
    out.size = (static_cast<std::uint64_t>(bh.nFileSizeHigh) << 32) | bh.nFileSizeLow;
    out.volume = bh.dwVolumeSerialNumber;
    out.index = (static_cast<std::uint64_t>(bh.nFileIndexHigh) << 32) | bh.nFileIndexLow;
    out.mtime = filetime_ticks(bh.ftLastWriteTime.dwLowDateTime, bh.ftLastWriteTime.dwHighDateTime);
    out.ctime = filetime_ticks(bh.ftCreationTime.dwLowDateTime, bh.ftCreationTime.dwHighDateTime);
    out.links = bh.nNumberOfLinks;
    out.reparse_tag = 0;
    if (out.attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
        FILE_ATTRIBUTE_TAG_INFO tag{};
        if (GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof tag))
            out.reparse_tag = tag.ReparseTag;
    }
    return true;
}

std::int64_t unix_seconds(std::uint64_t ticks) {
    // FILETIME: 100 ns since 1601-01-01.
    constexpr std::uint64_t kEpoch = 116444736000000000ull;
    if (ticks < kEpoch) return -static_cast<std::int64_t>((kEpoch - ticks) / 10000000ull);
    return static_cast<std::int64_t>((ticks - kEpoch) / 10000000ull);
}

std::uint64_t filetime_ticks(unsigned long low, unsigned long high) {
    return (static_cast<std::uint64_t>(high) << 32) | low;
}

namespace {

// REPARSE_DATA_BUFFER (ntifs.h, not in mingw's user-mode headers): the two name-surrogate
// layouts this code reads.
struct ReparseHeader {
    ULONG tag;
    USHORT data_length;
    USHORT reserved;
};
struct SymlinkBody {
    USHORT substitute_offset, substitute_length, print_offset, print_length;
    ULONG flags;  // symlinks only
};
constexpr ULONG kTagMountPoint = 0xA0000003;
constexpr ULONG kTagSymlink = 0xA000000C;

}  // namespace

std::string reparse_target(HANDLE h, std::string& error) {
    std::vector<std::uint8_t> buf(16 * 1024);  // MAXIMUM_REPARSE_DATA_BUFFER_SIZE
    DWORD got = 0;
    if (!DeviceIoControl(h, FSCTL_GET_REPARSE_POINT, nullptr, 0, buf.data(),
                         static_cast<DWORD>(buf.size()), &got, nullptr)) {
        error = error_text("read reparse point", GetLastError());
        return {};
    }
    if (got < sizeof(ReparseHeader)) {
        error = "read reparse point: short reply";
        return {};
    }
    ReparseHeader hdr{};
    std::memcpy(&hdr, buf.data(), sizeof hdr);
    char tagtext[16];
    std::snprintf(tagtext, sizeof tagtext, "0x%08lX", static_cast<unsigned long>(hdr.tag));
    if (hdr.tag != kTagMountPoint && hdr.tag != kTagSymlink)
        return std::string("reparse:") + tagtext;
    const std::size_t body_at = sizeof(ReparseHeader);
    SymlinkBody body{};
    const std::size_t fixed = hdr.tag == kTagSymlink ? sizeof(SymlinkBody) : 8;
    if (got < body_at + fixed) {
        error = "read reparse point: short reply";
        return {};
    }
    std::memcpy(&body, buf.data() + body_at, fixed);
    const std::size_t names_at = body_at + fixed;
    // The print name when there is one (what dir shows), else the substitute name.
    USHORT off = body.print_length ? body.print_offset : body.substitute_offset;
    USHORT len = body.print_length ? body.print_length : body.substitute_length;
    if (names_at + off + len > got || len % 2 != 0) {
        error = "read reparse point: name outside the reply";
        return {};
    }
    std::wstring name(len / 2, L'\0');
    std::memcpy(name.data(), buf.data() + names_at + off, len);
    return core::utf8_of(name);
}

bool name_surrogate(unsigned long tag) {
    return (tag & 0x20000000ul) != 0;
}

bool recall_on_read(unsigned long attributes, unsigned long tag) {
    constexpr unsigned long kRecallOnOpen = 0x00040000ul, kRecallOnDataAccess = 0x00400000ul;
    if (attributes & (FILE_ATTRIBUTE_OFFLINE | kRecallOnOpen | kRecallOnDataAccess)) return true;
    // IO_REPARSE_TAG_CLOUD, CLOUD_1..F (0x9000x01A), HSM, HSM2
    return (tag & 0xFFFF0FFFul) == 0x9000001Aul || tag == 0xC0000004ul || tag == 0x80000006ul;
}

bool list_names(const std::wstring& dir, std::vector<Found>& out, std::string& error) {
    std::wstring pattern = dir;
    if (!pattern.empty() && pattern.back() != L'\\') pattern += L'\\';
    pattern += L'*';
    WIN32_FIND_DATAW fd{};
    HANDLE f = FindFirstFileExW(pattern.c_str(), FindExInfoBasic, &fd, FindExSearchNameMatch,
                                nullptr, FIND_FIRST_EX_LARGE_FETCH);
    if (f == INVALID_HANDLE_VALUE) {
        const DWORD e = GetLastError();
        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_NO_MORE_FILES) return true;  // empty
        error = error_text("readdir", e);
        return false;
    }
    bool ok = true;
    do {
        if (std::wcscmp(fd.cFileName, L".") == 0 || std::wcscmp(fd.cFileName, L"..") == 0) continue;
        if (out.size() >= detail::kMaxDirEntries) {
            error = "readdir: too many entries";
            ok = false;
            break;
        }
        Found e;
        e.name = core::utf8_of(fd.cFileName);
        e.attributes = fd.dwFileAttributes;
        e.reparse_tag = (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) ? fd.dwReserved0 : 0;
        e.size = (static_cast<std::uint64_t>(fd.nFileSizeHigh) << 32) | fd.nFileSizeLow;
        e.mtime =
            filetime_ticks(fd.ftLastWriteTime.dwLowDateTime, fd.ftLastWriteTime.dwHighDateTime);
        out.push_back(std::move(e));
    } while (FindNextFileW(f, &fd));
    if (ok) {
        const DWORD e = GetLastError();
        if (e != ERROR_NO_MORE_FILES) {
            error = error_text("readdir", e);
            ok = false;
        }
    }
    FindClose(f);
    std::sort(out.begin(), out.end(),
              [](const Found& a, const Found& b) { return a.name < b.name; });
    return ok;
}

}  // namespace win

}  // namespace audit::fs
