// Windows implementations of the POSIX stand-ins declared in include/ (see audit_win_compat.h).
#include <windows.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "audit_win_compat.h"
#include "sys/file.h"
#include "sys/statfs.h"
#include "termios.h"

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
