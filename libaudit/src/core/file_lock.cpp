#include "audit/file_lock.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "audit/error.h"

#ifdef _WIN32
#include <io.h>
#include <windows.h>

#include "audit/core/win_path.h"
#endif

namespace audit {

FileLock::FileLock(const std::string& path) {
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) throw IoError("cannot create " + dir.string() + ": " + ec.message());
    const std::string lock = path + ".lock";
#ifdef _WIN32
    // The lock file itself, never what a reparse point (symbolic link, junction) there names:
    // opened as the reparse point, refused when it is one. LockFileEx over the whole range.
    HANDLE h = CreateFileW(core::wide_path(lock).c_str(), GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        throw IoError("cannot open " + lock + ": " + core::win_error_text(GetLastError()));
    FILE_BASIC_INFO info{};
    if (!GetFileInformationByHandleEx(h, FileBasicInfo, &info, sizeof info) ||
        (info.FileAttributes & (FILE_ATTRIBUTE_REPARSE_POINT | FILE_ATTRIBUTE_DIRECTORY)) != 0) {
        CloseHandle(h);
        throw IoError("cannot open " + lock + ": a reparse point or directory, not a lock file");
    }
    OVERLAPPED ov{};
    if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK, 0, MAXDWORD, MAXDWORD, &ov)) {
        const DWORD e = GetLastError();
        CloseHandle(h);
        throw IoError("cannot lock " + lock + ": " + core::win_error_text(e));
    }
    fd_ = _open_osfhandle(reinterpret_cast<intptr_t>(h), _O_RDWR);
    if (fd_ < 0) {
        CloseHandle(h);
        throw IoError("cannot lock " + lock + ": out of descriptors");
    }
#else
    fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) throw IoError("cannot open " + lock + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX) != 0) {
        const int e = errno;
        ::close(fd_);
        throw IoError("cannot lock " + lock + ": " + std::strerror(e));
    }
#endif
}

FileLock::~FileLock() {
    ::close(fd_);
}

bool safe_relative_path(std::string_view path) {
    if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos ||
        path.find('\0') != std::string_view::npos)
        return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        auto seg = path.substr(start, end - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        start = end + 1;
    }
    return true;
}

}  // namespace audit
