#include "audit/evidence/extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "audit/error.h"

namespace audit::evidence {

namespace {

// A name a bundle may hold as one file of a flat directory: no separator, no dot names.
bool plain_name(const std::string& n) {
    return !n.empty() && n.size() <= 255 && n != "." && n != ".." &&
           n.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

}  // namespace

// Refuses a DIR that exists and is not an empty directory (before anything is verified).
void check_extract_dir(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::symlink_status(dir, ec))) return;
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(dir, ec)))
        throw UsageError("--extract " + dir + ": exists and is not a directory");
    if (!std::filesystem::is_empty(dir, ec) || ec)
        throw UsageError("--extract " + dir + ": exists and is not empty");
}

// Writes the verified content of a bundle into dir: each file its statement lists, created new
// (O_EXCL, no link followed) under a directory opened without following links.
void extract_files(const std::string& dir, const std::vector<std::string>& subject_names,
                   const std::map<std::string, std::string>& files) {
    std::vector<std::string> names;
    for (const auto& name : subject_names) {
        if (!plain_name(name))
            throw VerifyError("--extract: the statement names '" + name +
                              "', not a plain file name");
        if (!files.count(name))
            throw UsageError("--extract: " + name +
                             " is too large to hold in memory; nothing was written");
        names.push_back(name);
    }
    check_extract_dir(dir);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw IoError("cannot create " + dir + ": " + std::strerror(errno));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) throw IoError("cannot open " + dir + ": " + std::strerror(errno));
    std::unique_ptr<int, void (*)(int*)> guard(new int(dfd), [](int* fd) {
        ::close(*fd);
        delete fd;
    });
    for (const auto& name : names) {
        const std::string& bytes = files.at(name);
        const int fd =
            ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            throw IoError("cannot create " + dir + "/" + name + ": " + std::strerror(errno));
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int e = errno;
                ::close(fd);
                throw IoError("cannot write " + dir + "/" + name + ": " + std::strerror(e));
            }
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd) != 0 || ::close(fd) != 0)
            throw IoError("cannot write " + dir + "/" + name + ": " + std::strerror(errno));
    }
    ::fsync(dfd);
}

}  // namespace audit::evidence
