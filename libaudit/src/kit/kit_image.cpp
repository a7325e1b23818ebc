// Reading a kit image directly (audit-kit check IMAGE): ISO 9660 with libarchive, FAT with mtools.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "audit/error.h"
#include "audit/kit/kit_build.h"

extern char** environ;

namespace audit::kit {

namespace {

namespace stdfs = std::filesystem;

std::string read_at(const std::string& path, off_t offset, std::size_t n) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open " + path + ": " + std::strerror(errno));
    std::string buf(n, '\0');
    ssize_t got = ::pread(fd, buf.data(), n, offset);
    ::close(fd);
    buf.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return buf;
}

void extract_iso(const std::string& image, const std::string& dest) {
    std::unique_ptr<archive, decltype(&archive_read_free)> in(archive_read_new(),
                                                              archive_read_free);
    std::unique_ptr<archive, decltype(&archive_write_free)> out(archive_write_disk_new(),
                                                                archive_write_free);
    if (!in || !out) throw IoError("libarchive: out of memory");
    archive_read_support_format_iso9660(in.get());
    // Modes kept (Rock Ridge), never owners, setuid bits, links out of dest or absolute paths.
    archive_write_disk_set_options(
        out.get(), ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                       ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_NO_OVERWRITE);
    if (archive_read_open_filename(in.get(), image.c_str(), 1 << 16) != ARCHIVE_OK)
        throw IoError(image + ": not a readable ISO 9660 image (" + archive_error_string(in.get()) +
                      ")");
    archive_entry* e = nullptr;
    int r;
    while ((r = archive_read_next_header(in.get(), &e)) == ARCHIVE_OK) {
        std::string name = archive_entry_pathname(e);
        while (name.starts_with("./")) name.erase(0, 2);
        if (name.empty() || name == "." || name == "./") continue;
        // Names stay inside dest: no absolute path, no ".." component (refused, not mended).
        if (name.front() == '/' || name == ".." || name.starts_with("../") ||
            name.find("/../") != std::string::npos || name.ends_with("/.."))
            throw VerifyError(image + ": the entry '" + name.substr(0, 200) +
                              "' would leave the directory it is read into");
        const auto type = archive_entry_filetype(e);
        if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
            continue;  // devices and FIFOs are never made; compare_tree misses them as files
        archive_entry_set_pathname(e, (dest + "/" + name).c_str());
        if (const char* link = archive_entry_hardlink(e)) {
            const std::string target = link;
            if (target.empty() || target.front() == '/' || target.find("..") != std::string::npos)
                throw VerifyError(image + ": a hard link out of the image");
            archive_entry_set_hardlink(e, (dest + "/" + target).c_str());
        }
        archive_entry_set_mode(e, archive_entry_mode(e) & ~static_cast<mode_t>(07000));
        if (archive_write_header(out.get(), e) != ARCHIVE_OK)
            throw IoError(image + ": cannot extract " + name + ": " +
                          archive_error_string(out.get()));
        const void* buf;
        size_t size;
        la_int64_t off;
        int d;
        while ((d = archive_read_data_block(in.get(), &buf, &size, &off)) == ARCHIVE_OK)
            if (archive_write_data_block(out.get(), buf, size, off) != ARCHIVE_OK)
                throw IoError(image + ": cannot write " + name + ": " +
                              archive_error_string(out.get()));
        if (d != ARCHIVE_EOF)
            throw IoError(image + ": cannot read " + name + ": " + archive_error_string(in.get()));
        if (archive_write_finish_entry(out.get()) != ARCHIVE_OK)
            throw IoError(image + ": cannot finish " + name);
    }
    if (r != ARCHIVE_EOF) throw IoError(image + ": " + std::string(archive_error_string(in.get())));
    archive_write_close(out.get());
}

void extract_fat(const std::string& image, const std::string& dest) {
    // mcopy -s: recursive; -n: no overwrite prompt; -p: keep times. The image's own names only.
    std::vector<std::string> argv = {"mcopy", "-s", "-n", "-p", "-i", image, "::/*", dest + "/"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> env;
    for (char** e = environ; *e; ++e) env.push_back(*e);
    static char skip[] = "MTOOLS_SKIP_CHECK=1";
    env.push_back(skip);
    env.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, "mcopy", nullptr, nullptr, args.data(), env.data());
    if (rc != 0)
        throw IoError(std::string("cannot run mcopy (install mtools): ") + std::strerror(rc));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw IoError(image + ": mcopy could not read the FAT image (status " +
                      std::to_string(status) + ")");
}

}  // namespace

std::string image_kind(const std::string& path) {
    if (read_at(path, 32769, 5) == "CD001") return "iso";
    const std::string boot = read_at(path, 0, 512);
    if (boot.size() == 512 && static_cast<unsigned char>(boot[510]) == 0x55 &&
        static_cast<unsigned char>(boot[511]) == 0xAA &&
        (boot.compare(54, 3, "FAT") == 0 || boot.compare(82, 5, "FAT32") == 0))
        return "fat";
    return "";
}

void extract_kit_image(const std::string& image, const std::string& dest) {
    const std::string kind = image_kind(image);
    if (kind == "iso")
        extract_iso(image, dest);
    else if (kind == "fat")
        extract_fat(image, dest);
    else
        throw UsageError(image + " is neither a kit directory nor an ISO 9660 or FAT image");
}

}  // namespace audit::kit
