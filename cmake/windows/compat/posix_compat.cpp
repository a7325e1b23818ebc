// Windows implementations of the POSIX stand-ins declared in include/ (see audit_win_compat.h).
#include <windows.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "audit_win_compat.h"
#include "sys/file.h"
#include "sys/statfs.h"
#include "termios.h"

// RtlGenRandom (advapi32), as Botan's system RNG uses it.
extern "C" BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

namespace {
HANDLE handle_of(int fd) {
    intptr_t h = _get_osfhandle(fd);
    return h == -1 ? INVALID_HANDLE_VALUE : reinterpret_cast<HANDLE>(h);
}
int fail(DWORD e) {
    errno = e == ERROR_ACCESS_DENIED      ? EACCES
            : e == ERROR_ALREADY_EXISTS   ? EEXIST
            : e == ERROR_FILE_EXISTS      ? EEXIST
            : e == ERROR_FILE_NOT_FOUND   ? ENOENT
            : e == ERROR_PATH_NOT_FOUND   ? ENOENT
            : e == ERROR_NOT_SAME_DEVICE  ? EXDEV
            : e == ERROR_LOCK_VIOLATION   ? EWOULDBLOCK
            : e == ERROR_INVALID_FUNCTION ? EINVAL
            : e == ERROR_NOT_SUPPORTED    ? ENOSYS
                                          : EIO;
    return -1;
}
}  // namespace

extern "C" {

int fsync(int fd) {
    HANDLE h = handle_of(fd);
    if (h == INVALID_HANDLE_VALUE) return errno = EBADF, -1;
    return FlushFileBuffers(h) ? 0 : fail(GetLastError());
}

int openat(int, const char*, int, ...) {
    errno = ENOSYS;
    return -1;
}

char* mkdtemp(char* tmpl) {
    const std::size_t n = std::strlen(tmpl);
    if (n < 6 || std::strcmp(tmpl + n - 6, "XXXXXX") != 0) return errno = EINVAL, nullptr;
    static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int attempt = 0; attempt < 100; ++attempt) {
        unsigned char random[6];
        if (!SystemFunction036(random, sizeof random)) return errno = EIO, nullptr;
        for (int i = 0; i < 6; ++i) tmpl[n - 6 + i] = kChars[random[i] % 36];
        const int wn = MultiByteToWideChar(CP_UTF8, 0, tmpl, -1, nullptr, 0);
        if (wn <= 0) return errno = EINVAL, nullptr;
        std::wstring w(static_cast<std::size_t>(wn), L'\0');
        MultiByteToWideChar(CP_UTF8, 0, tmpl, -1, w.data(), wn);
        if (CreateDirectoryW(w.c_str(), nullptr)) return tmpl;
        if (GetLastError() != ERROR_ALREADY_EXISTS) return fail(GetLastError()), nullptr;
    }
    return errno = EEXIST, nullptr;
}

ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
    HANDLE h = handle_of(fd);
    if (h == INVALID_HANDLE_VALUE) return errno = EBADF, -1;
    if (offset < 0) return errno = EINVAL, -1;
    OVERLAPPED ov{};
    const auto off = static_cast<unsigned long long>(offset);
    ov.Offset = static_cast<DWORD>(off & 0xffffffffu);
    ov.OffsetHigh = static_cast<DWORD>(off >> 32);
    DWORD got = 0;
    const DWORD want = count > 0x7fffffffu ? 0x7fffffffu : static_cast<DWORD>(count);
    if (!ReadFile(h, buf, want, &got, &ov)) {
        const DWORD e = GetLastError();
        if (e == ERROR_HANDLE_EOF) return 0;
        return fail(e);
    }
    return static_cast<ssize_t>(got);
}

int flock(int fd, int operation) {
    HANDLE h = handle_of(fd);
    if (h == INVALID_HANDLE_VALUE) return errno = EBADF, -1;
    OVERLAPPED ov{};
    if (operation & LOCK_UN)
        return UnlockFileEx(h, 0, MAXDWORD, MAXDWORD, &ov) ? 0 : fail(GetLastError());
    DWORD how = 0;
    if (operation & LOCK_EX) how |= LOCKFILE_EXCLUSIVE_LOCK;
    if (operation & LOCK_NB) how |= LOCKFILE_FAIL_IMMEDIATELY;
    return LockFileEx(h, how, 0, MAXDWORD, MAXDWORD, &ov) ? 0 : fail(GetLastError());
}

int fstatfs(int fd, struct statfs* buf) {
    HANDLE h = handle_of(fd);
    if (h == INVALID_HANDLE_VALUE) return errno = EBADF, -1;
    char fs[MAX_PATH + 1] = {};
    wchar_t name[MAX_PATH + 1] = {};
    if (!GetVolumeInformationByHandleW(h, nullptr, 0, nullptr, nullptr, nullptr, name, MAX_PATH))
        return fail(GetLastError());
    WideCharToMultiByte(CP_UTF8, 0, name, -1, fs, MAX_PATH, nullptr, nullptr);
    buf->f_type = (std::strncmp(fs, "FAT", 3) == 0 || std::strcmp(fs, "exFAT") == 0) ? 0x4d44L : 0L;
    return 0;
}

int statfs(const char* path, struct statfs* buf) {
    // Backup semantics: a directory opens too; no access is asked, only the volume's name.
    HANDLE h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr);
    if (h == INVALID_HANDLE_VALUE) return fail(GetLastError());
    int fd = _open_osfhandle(reinterpret_cast<intptr_t>(h), _O_RDONLY);
    if (fd < 0) {
        CloseHandle(h);
        return errno = EMFILE, -1;
    }
    int rc = fstatfs(fd, buf);
    _close(fd);
    return rc;
}

int tcgetattr(int fd, struct termios* t) {
    DWORD mode = 0;
    if (!GetConsoleMode(handle_of(fd), &mode)) return fail(GetLastError());
    t->c_lflag = (mode & ENABLE_ECHO_INPUT) ? ECHO : 0;
    return 0;
}

int tcsetattr(int fd, int, const struct termios* t) {
    HANDLE h = handle_of(fd);
    DWORD mode = 0;
    if (!GetConsoleMode(h, &mode)) return fail(GetLastError());
    mode = (t->c_lflag & ECHO) ? (mode | ENABLE_ECHO_INPUT)
                               : (mode & ~static_cast<DWORD>(ENABLE_ECHO_INPUT));
    return SetConsoleMode(h, mode) ? 0 : fail(GetLastError());
}
}
