// Windows port of core/atomic_file.cpp (the windows preset builds this file instead of that one):
// the temporary file is created beside the target with CreateFileW(CREATE_NEW), flushed with
// FlushFileBuffers and moved into place with MoveFileExW(MOVEFILE_WRITE_THROUGH), with
// MOVEFILE_REPLACE_EXISTING unless the caller refuses to replace (then an existing target fails
// the move: ERROR_ALREADY_EXISTS, never a silent overwrite). Windows has no directory fsync;
// MOVEFILE_WRITE_THROUGH returns only once the rename is on disk. Paths are UTF-8, passed to the
// wide API (core/win_path.h).
#include <fcntl.h>
#include <io.h>
#include <windows.h>

#include <random>

#include "audit/core/atomic_file.h"
#include "audit/core/win_path.h"
#include "audit/error.h"

namespace audit::core {

namespace {

bool is_separator(char c) {
    return c == '/' || c == '\\';
}

std::string base_of(const std::string& path) {
    auto slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

HANDLE handle_of(int fd) {
    const intptr_t h = _get_osfhandle(fd);
    return h == -1 ? INVALID_HANDLE_VALUE : reinterpret_cast<HANDLE>(h);
}

}  // namespace

std::string dir_of(const std::string& path) {
    auto slash = path.find_last_of("/\\");
    if (slash == std::string::npos) {
        if (path.size() >= 2 && path[1] == ':') return path.substr(0, 2);  // "C:name"
        return ".";
    }
    if (slash == 0) return path.substr(0, 1);
    if (slash == 2 && path[1] == ':') return path.substr(0, 3);  // "C:\name"
    std::size_t end = slash;
    while (end > 1 && is_separator(path[end - 1])) --end;
    return path.substr(0, end);
}

AtomicFile::AtomicFile(const std::string& target) : target_(target) {
    const std::string dir = dir_of(target);
    const std::string sep = is_separator(dir.back()) || dir.back() == ':' ? "" : "/";
    std::random_device rd;
    static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string suffix;
        for (int i = 0; i < 6; ++i) suffix += kAlphabet[rd() % (sizeof kAlphabet - 1)];
        path_ = dir + sep + "." + base_of(target) + ".tmp-" + suffix;
        // Not shared for writing or deleting while we write; DELETE so that the move can be
        // refused cleanly. Not inherited by child processes (no SECURITY_ATTRIBUTES).
        HANDLE h =
            CreateFileW(wide_path(path_).c_str(), GENERIC_READ | GENERIC_WRITE | DELETE,
                        FILE_SHARE_READ, nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
        if (h == INVALID_HANDLE_VALUE) {
            const DWORD e = GetLastError();
            if (e == ERROR_FILE_EXISTS || e == ERROR_ALREADY_EXISTS) continue;
            throw IoError("cannot create a file in " + dir + ": " + win_error_text(e));
        }
        fd_ = _open_osfhandle(reinterpret_cast<intptr_t>(h), _O_BINARY | _O_RDWR);
        if (fd_ < 0) {
            CloseHandle(h);
            DeleteFileW(wide_path(path_).c_str());
            throw IoError("cannot create a file in " + dir + ": out of descriptors");
        }
        return;
    }
    throw IoError("cannot create a file in " + dir + ": no free temporary name");
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) _close(fd_);
    if (!committed_) {
        try {
            DeleteFileW(wide_path(path_).c_str());
        } catch (...) {  // path_ was made from target_, already converted once
        }
    }
}

void AtomicFile::write(std::string_view bytes) {
    HANDLE h = handle_of(fd_);
    while (!bytes.empty()) {
        const DWORD chunk =
            bytes.size() > (1u << 30) ? (1u << 30) : static_cast<DWORD>(bytes.size());
        DWORD n = 0;
        if (!WriteFile(h, bytes.data(), chunk, &n, nullptr))
            throw IoError("cannot write " + target_ + ": " + win_error_text(GetLastError()));
        bytes.remove_prefix(n);
    }
}

void AtomicFile::commit(bool no_replace, unsigned mode) {
    HANDLE h = handle_of(fd_);
    // The only part of a Unix mode Windows keeps on a file is "not writable": the read-only
    // attribute. Access beyond that is the directory's inherited ACL.
    if (!(mode & 0200)) {
        FILE_BASIC_INFO info{};
        if (!GetFileInformationByHandleEx(h, FileBasicInfo, &info, sizeof info))
            throw IoError("cannot read the attributes of " + path_ + ": " +
                          win_error_text(GetLastError()));
        info.FileAttributes |= FILE_ATTRIBUTE_READONLY;
        if (!SetFileInformationByHandle(h, FileBasicInfo, &info, sizeof info))
            throw IoError("cannot set the attributes of " + path_ + ": " +
                          win_error_text(GetLastError()));
    }
    if (!FlushFileBuffers(h))
        throw IoError("cannot write " + target_ + ": " + win_error_text(GetLastError()));
    const int rc = _close(fd_);
    fd_ = -1;
    if (rc != 0) throw IoError("cannot write " + target_ + ": cannot close the temporary file");
    DWORD how = MOVEFILE_WRITE_THROUGH;
    if (!no_replace) how |= MOVEFILE_REPLACE_EXISTING;
    if (!MoveFileExW(wide_path(path_).c_str(), wide_path(target_).c_str(), how)) {
        const DWORD e = GetLastError();
        if (no_replace && (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS))
            throw IoError(target_ + " already exists; refusing to replace it");
        throw IoError("cannot create " + target_ + ": " + win_error_text(e));
    }
    committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view bytes, bool no_replace,
                       unsigned mode) {
    AtomicFile tmp(path);
    tmp.write(bytes);
    tmp.commit(no_replace, mode);
}

}  // namespace audit::core
