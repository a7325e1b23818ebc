#include <fcntl.h>
#ifndef _WIN32  // the Windows walk opens its handles itself (fs/walker_win.cpp)
#include <linux/capability.h>
#include <sys/syscall.h>
#endif
#include <unistd.h>
#include <algorithm>

#include <cerrno>
#include <cstring>
#include <vector>

#include <botan/hash.h>
#include <botan/hex.h>

#include "audit/error.h"
#include "audit/fs/digest.h"

namespace audit::fs {

namespace {

struct Algorithm {
    DigestAlgorithm id;
    const char* name;
    const char* botan;
};
constexpr Algorithm kAlgorithms[] = {
    {DigestAlgorithm::sha256, "sha256", "SHA-256"},
    {DigestAlgorithm::sha384, "sha384", "SHA-384"},
    {DigestAlgorithm::sha512, "sha512", "SHA-512"},
};

std::string* slot(FileDigests& d, DigestAlgorithm a) {
    switch (a) {
        case DigestAlgorithm::sha256:
            return &d.sha256;
        case DigestAlgorithm::sha384:
            return &d.sha384;
        case DigestAlgorithm::sha512:
            return &d.sha512;
    }
    return nullptr;
}

#ifndef _WIN32
bool has_cap_fowner() {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0) return ::geteuid() == 0;
    return (data[0].effective & (1u << CAP_FOWNER)) != 0;
}
#endif

}  // namespace

DigestPolicy DigestPolicy::parse(std::string_view list) {
    DigestPolicy p;
    p.bits_ = 0;
    std::size_t i = 0;
    while (i <= list.size()) {
        std::size_t j = list.find(',', i);
        if (j == std::string_view::npos) j = list.size();
        std::string_view name = list.substr(i, j - i);
        bool known = false;
        for (const auto& a : kAlgorithms)
            if (name == a.name) {
                p.add(a.id);
                known = true;
            }
        if (!known)
            throw UsageError("unknown file digest '" + std::string(name) +
                             "' (sha256, sha384, sha512, comma-separated)");
        i = j + 1;
    }
    return p;
}

DigestPolicy DigestPolicy::of(std::initializer_list<DigestAlgorithm> algorithms) {
    DigestPolicy p;
    p.bits_ = 0;
    for (auto a : algorithms) p.add(a);
    return p;
}

std::vector<std::string> DigestPolicy::names() const {
    std::vector<std::string> out;
    for (const auto& a : kAlgorithms)
        if (has(a.id)) out.emplace_back(a.name);
    return out;
}

struct FileHasher::Impl {
    struct Slot {
        DigestAlgorithm id;
        std::unique_ptr<Botan::HashFunction> hash;
    };
    std::vector<Slot> hashes;
    std::vector<std::uint8_t> buf;
};

FileHasher::FileHasher(const DigestPolicy& policy, std::size_t buffer_bytes)
    : impl_(std::make_unique<Impl>()) {
    for (const auto& a : kAlgorithms)
        if (policy.has(a.id))
            impl_->hashes.push_back({a.id, Botan::HashFunction::create_or_throw(a.botan)});
    impl_->buf.resize(buffer_bytes);
}

FileHasher::~FileHasher() = default;

std::size_t FileHasher::first_read_length(std::uint64_t size_hint) const noexcept {
    return static_cast<std::size_t>(
        std::min<std::uint64_t>(size_hint > 0 ? size_hint : 1, impl_->buf.size()));
}

FileHasher::Result FileHasher::hash(int fd, std::uint64_t size_hint) {
    return hash(fd, size_hint, FirstRead{nullptr, 0});
}

FileHasher::Result FileHasher::hash(int fd, std::uint64_t size_hint, const FirstRead& first) {
    Result r;
    auto& buf = impl_->buf;
    // Read-ahead hint only where it can matter: a file that takes more than one read.
#ifndef _WIN32  // Windows: FILE_FLAG_SEQUENTIAL_SCAN on the handle (fs/win_fs_win.cpp)
    if (size_hint > buf.size()) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    // A first read done by the caller stands for this loop's first read(2); one that failed
    // with EINTR or EAGAIN (io_uring on a non-blocking fd, pages not cached) was no read.
    bool have_first = first.data != nullptr && first.n != -EINTR && first.n != -EAGAIN;
    for (;;) {
        const std::uint64_t want = r.bytes < size_hint ? size_hint - r.bytes : 1;
        const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(want, buf.size()));
        const std::uint8_t* data = buf.data();
        ssize_t n = 0;
        if (have_first) {
            have_first = false;
            data = first.data;
            n = static_cast<ssize_t>(first.n);
            if (n < 0) errno = static_cast<int>(-n);
        } else {
            n = ::read(fd, buf.data(), len);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            r.error = errno;
            for (auto& h : impl_->hashes) h.hash->clear();
            return r;
        }
        if (n == 0) break;
        if (r.bytes >= size_hint) {
            r.grew = true;
            break;
        }
        for (auto& h : impl_->hashes) h.hash->update(data, static_cast<std::size_t>(n));
        r.bytes += static_cast<std::uint64_t>(n);
        // A short read that reaches the size fstat gave is the end of a regular file.
        if (static_cast<std::size_t>(n) < buf.size() && r.bytes == size_hint) break;
    }
    for (auto& h : impl_->hashes)
        *slot(r.digests, h.id) = Botan::hex_encode(h.hash->final(), false);
    return r;
}

#ifndef _WIN32
bool noatime_everywhere() {
    static const bool cap = has_cap_fowner();
    return cap;
}

int open_read_only(int dirfd, const char* name, int extra_flags, long owner) {
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | extra_flags;
    if (noatime_everywhere() || owner < 0 || static_cast<uid_t>(owner) == ::geteuid()) {
        int fd = ::openat(dirfd, name, flags | O_NOATIME);
        if (fd >= 0 || errno != EPERM) return fd;
    }
    return ::openat(dirfd, name, flags);
}

#endif

}  // namespace audit::fs
