// The walk's I/O path (--io) and the io_uring it can batch its per-file system calls on: a ring
// restricted by construction to openat, read and close (IORING_REGISTER_RESTRICTIONS on a ring
// created disabled), whose only open is the read-only one of open_read_only(). io_uring
// operations do not show in strace, so what the ring may do is fixed before it is enabled.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace audit::fs {

// Which system calls a walk reads files with: io_uring (batched openat/read/close per directory
// chunk), posix (one openat/read/close each), or auto: posix for now, the path the benchmark
// found no slower (README "Speed", issue 19 goal 1).
enum class IoPath { automatic, uring, posix };
IoPath io_path_from_string(std::string_view text);  // auto, uring, posix; UsageError otherwise
const char* io_path_name(IoPath p);                 // "auto", "uring", "posix"

class ReadRing {
  public:
    // A ring of `entries` slots, or nullptr and why not (not Linux, built without liburing, an
    // old kernel, kernel.io_uring_disabled, seccomp, no restriction support).
    static std::unique_ptr<ReadRing> create(unsigned entries, std::string& why);
    ~ReadRing();
    ReadRing(const ReadRing&) = delete;
    ReadRing& operator=(const ReadRing&) = delete;

    unsigned capacity() const noexcept;
    // Queue one operation (false when the submission queue is full). name and buf must stay
    // valid until run() returns.
    // open_read: O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC (+ O_NOATIME), as
    // open_read_only(); the only open the ring offers.
    bool open_read(int dirfd, const char* name, bool noatime, std::uint64_t tag);
    bool read(int fd, void* buf, unsigned len, std::uint64_t tag);  // at the file position
    bool close(int fd, std::uint64_t tag);
    // Submits what is queued, waits for all of it, and calls done(tag, result) for each
    // (result: as the system call, -errno on failure). Returns 0 or -errno of the submission.
    int run(const std::function<void(std::uint64_t, int)>& done);

    // Tests only: queue a write of len bytes from buf to fd (an opcode outside the
    // restriction), run it, and return its result (-EACCES when the ring refuses it).
    int write_for_test(int fd, const void* buf, unsigned len);

  private:
    ReadRing();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace audit::fs
