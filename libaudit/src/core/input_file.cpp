#include "audit/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/error.h"

namespace audit {

namespace {

const char* kind_of(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    return "not a regular file";
}

std::optional<std::string> read(const std::string& path, std::size_t max_bytes,
                                std::string_view what, bool missing_ok) {
    const std::string named = std::string(what) + " " + path;
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked right after.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        const int e = errno;
        if (missing_ok && e == ENOENT) return std::nullopt;
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))  // a socket: ENXIO
            throw UsageError(path + ": the " + std::string(what) + " is " + kind_of(st.st_mode) +
                             ", not a file");
        throw IoError("cannot read " + named + ": " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        throw IoError("cannot read " + named + ": " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw UsageError(path + ": the " + std::string(what) + " is " + kind_of(st.st_mode) +
                         ", not a file");
    }
    std::string data;
    const std::size_t want = max_bytes + 1;
    const auto size = static_cast<std::size_t>(st.st_size);
    data.resize(size < want ? size + 1 : want);
    std::size_t got = 0;
    while (got < data.size()) {
        ssize_t n = ::read(fd, data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw IoError("cannot read " + named + ": " + std::strerror(e));
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
        if (got == data.size() && data.size() < want) data.resize(std::min(want, data.size() * 2));
    }
    ::close(fd);
    data.resize(got);
    return data;
}

}  // namespace

std::string read_input_file(const std::string& path, std::size_t max_bytes, std::string_view what) {
    return *read(path, max_bytes, what, false);
}

std::optional<std::string> read_input_file_if_exists(const std::string& path, std::size_t max_bytes,
                                                     std::string_view what) {
    return read(path, max_bytes, what, true);
}

}  // namespace audit
