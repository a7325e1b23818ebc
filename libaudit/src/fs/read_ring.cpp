#include "audit/fs/read_ring.h"

#include <cerrno>
#include <cstring>

#include "audit/error.h"

#if defined(__linux__) && defined(AUDIT_HAVE_URING)
#include <fcntl.h>
#include <liburing.h>
#endif

namespace audit::fs {

IoPath io_path_from_string(std::string_view text) {
    if (text == "auto") return IoPath::automatic;
    if (text == "uring") return IoPath::uring;
    if (text == "posix") return IoPath::posix;
    throw UsageError("--io wants auto, uring or posix, not '" + std::string(text) + "'");
}

const char* io_path_name(IoPath p) {
    switch (p) {
        case IoPath::automatic:
            return "auto";
        case IoPath::uring:
            return "uring";
        case IoPath::posix:
            return "posix";
    }
    return "auto";
}

#if defined(__linux__) && defined(AUDIT_HAVE_URING)

struct ReadRing::Impl {
    struct io_uring ring {};
    bool live = false;
    unsigned queued = 0;
    unsigned entries = 0;
    ~Impl() {
        if (live) io_uring_queue_exit(&ring);
    }
};

ReadRing::ReadRing() : impl_(std::make_unique<Impl>()) {}
ReadRing::~ReadRing() = default;

std::unique_ptr<ReadRing> ReadRing::create(unsigned entries, std::string& why) {
    std::unique_ptr<ReadRing> r(new ReadRing());
    Impl& im = *r->impl_;
    // Created disabled: nothing can be submitted before the restrictions are registered.
    int rc = io_uring_queue_init(entries, &im.ring, IORING_SETUP_R_DISABLED);
    if (rc < 0) {
        why = std::string("io_uring_setup: ") + std::strerror(-rc);
        return nullptr;
    }
    im.live = true;
    im.entries = entries;
    // Only these opcodes, no SQE flags (no linked, fixed-file or drained operations), and no
    // io_uring_register operation at all once enabled (the restriction cannot be widened).
    struct io_uring_restriction res[4];
    std::memset(res, 0, sizeof res);
    res[0].opcode = IORING_RESTRICTION_SQE_OP;
    res[0].sqe_op = IORING_OP_OPENAT;
    res[1].opcode = IORING_RESTRICTION_SQE_OP;
    res[1].sqe_op = IORING_OP_READ;
    res[2].opcode = IORING_RESTRICTION_SQE_OP;
    res[2].sqe_op = IORING_OP_CLOSE;
    res[3].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    res[3].sqe_flags = 0;
    rc = io_uring_register_restrictions(&im.ring, res, 4);
    if (rc < 0) {
        why = std::string("io_uring restrictions: ") + std::strerror(-rc);
        return nullptr;
    }
    rc = io_uring_enable_rings(&im.ring);
    if (rc < 0) {
        why = std::string("io_uring enable: ") + std::strerror(-rc);
        return nullptr;
    }
    return r;
}

unsigned ReadRing::capacity() const noexcept {
    return impl_->entries;
}

bool ReadRing::open_read(int dirfd, const char* name, bool noatime, std::uint64_t tag) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&impl_->ring);
    if (sqe == nullptr) return false;
    const int flags =
        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (noatime ? O_NOATIME : 0);
    io_uring_prep_openat(sqe, dirfd, name, flags, 0);
    io_uring_sqe_set_data64(sqe, tag);
    ++impl_->queued;
    return true;
}

bool ReadRing::read(int fd, void* buf, unsigned len, std::uint64_t tag) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&impl_->ring);
    if (sqe == nullptr) return false;
    // Offset -1: the file position, as read(2) (a later read(2) goes on from there).
    io_uring_prep_read(sqe, fd, buf, len, static_cast<__u64>(-1));
    io_uring_sqe_set_data64(sqe, tag);
    ++impl_->queued;
    return true;
}

bool ReadRing::close(int fd, std::uint64_t tag) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&impl_->ring);
    if (sqe == nullptr) return false;
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data64(sqe, tag);
    ++impl_->queued;
    return true;
}

int ReadRing::run(const std::function<void(std::uint64_t, int)>& done) {
    Impl& im = *impl_;
    const unsigned want = im.queued;
    unsigned seen = 0;
    int rc = 0;
    while (seen < want) {
        rc = io_uring_submit_and_wait(&im.ring, want - seen);
        if (rc < 0 && rc != -EINTR) break;
        rc = 0;
        struct io_uring_cqe* cqe = nullptr;
        unsigned head = 0;
        unsigned n = 0;
        io_uring_for_each_cqe(&im.ring, head, cqe) {
            done(io_uring_cqe_get_data64(cqe), cqe->res);
            ++n;
        }
        io_uring_cq_advance(&im.ring, n);
        seen += n;
    }
    im.queued = 0;
    return rc;
}

int ReadRing::write_for_test(int fd, const void* buf, unsigned len) {
    struct io_uring_sqe* sqe = io_uring_get_sqe(&impl_->ring);
    if (sqe == nullptr) return -EBUSY;
    io_uring_prep_write(sqe, fd, buf, len, 0);
    io_uring_sqe_set_data64(sqe, 1);
    ++impl_->queued;
    int result = -EIO;
    const int rc = run([&](std::uint64_t, int res) { result = res; });
    return rc < 0 ? rc : result;
}

#else  // no io_uring here: the walk's posix path only

struct ReadRing::Impl {};
ReadRing::ReadRing() : impl_(std::make_unique<Impl>()) {}
ReadRing::~ReadRing() = default;

std::unique_ptr<ReadRing> ReadRing::create(unsigned, std::string& why) {
#if defined(__linux__)
    why = "built without liburing";
#else
    why = "no io_uring on this system";
#endif
    return nullptr;
}

unsigned ReadRing::capacity() const noexcept {
    return 0;
}
bool ReadRing::open_read(int, const char*, bool, std::uint64_t) {
    return false;
}
bool ReadRing::read(int, void*, unsigned, std::uint64_t) {
    return false;
}
bool ReadRing::close(int, std::uint64_t) {
    return false;
}
int ReadRing::run(const std::function<void(std::uint64_t, int)>&) {
    return -ENOSYS;
}
int ReadRing::write_for_test(int, const void*, unsigned) {
    return -ENOSYS;
}

#endif

}  // namespace audit::fs
