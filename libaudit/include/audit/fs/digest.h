// File digest policy (which digests a scan records per file) and the one-read file hasher.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace audit::fs {

enum class DigestAlgorithm : unsigned { sha256 = 1, sha384 = 2, sha512 = 4 };

// A set of file digests. Default sha256 (what hash sets, hashdeep and CycloneDX consumers match
// on); a CNSA profile adds sha384 (and/or sha512).
class DigestPolicy {
  public:
    DigestPolicy() = default;
    // "sha256", "sha256,sha384", "sha384,sha512", ...; throws UsageError on anything else.
    static DigestPolicy parse(std::string_view list);
    static DigestPolicy of(std::initializer_list<DigestAlgorithm> algorithms);
    bool has(DigestAlgorithm a) const noexcept { return (bits_ & static_cast<unsigned>(a)) != 0; }
    void add(DigestAlgorithm a) noexcept { bits_ |= static_cast<unsigned>(a); }
    void add(const DigestPolicy& other) noexcept { bits_ |= other.bits_; }
    bool empty() const noexcept { return bits_ == 0; }
    std::vector<std::string> names() const;  // {"sha256", "sha384"}
    bool operator==(const DigestPolicy&) const = default;

  private:
    unsigned bits_ = static_cast<unsigned>(DigestAlgorithm::sha256);
};

// Lowercase hex digests of one file; an empty string is a digest the policy did not ask for.
struct FileDigests {
    std::string sha256;
    std::string sha384;
    std::string sha512 = {};  // (initialized: aggregates written {sha256, sha384} stay valid)
};

// Reads a file once, from its current offset to EOF, with a large buffer and a sequential
// read-ahead hint, and feeds every digest of the policy from that one read. One per thread.
class FileHasher {
  public:
    explicit FileHasher(const DigestPolicy& policy, std::size_t buffer_bytes = kDefaultBuffer);
    ~FileHasher();
    FileHasher(const FileHasher&) = delete;
    FileHasher& operator=(const FileHasher&) = delete;

    struct Result {
        FileDigests digests;
        std::uint64_t bytes = 0;  // bytes read
        int error = 0;            // errno of a failed read (digests empty then)
        bool grew = false;        // there was more than size_hint to read
    };
    // size_hint: the size fstat gave. At most size_hint bytes are hashed and one more is tried:
    // a file that keeps growing (a log a hostile host appends to) cannot keep the scan reading
    // forever, and shows as grew. A short read that ends exactly at size_hint is taken as EOF
    // (saving one read per small file); the caller's fstat after the read checks it.
    Result hash(int fd, std::uint64_t size_hint);
    // The first read of hash(fd, size_hint), already done by the caller (the io_uring path):
    // first_read_length(size_hint) bytes asked at the file position, n bytes got (or -errno).
    // hash() then goes on exactly as if its own first read(2) had returned that.
    struct FirstRead {
        const std::uint8_t* data = nullptr;
        long n = 0;
    };
    Result hash(int fd, std::uint64_t size_hint, const FirstRead& first);
    std::size_t first_read_length(std::uint64_t size_hint) const noexcept;

    static constexpr std::size_t kDefaultBuffer = 256u << 10;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The read-only open of a file for hashing: O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC
// and O_NOATIME where permitted (the caller is the owner, or has CAP_FOWNER). owner: the file's
// uid when known (-1 when not, then O_NOATIME is tried and dropped on EPERM).
int open_read_only(int dirfd, const char* name, int extra_flags, long owner = -1);

// True when O_NOATIME is permitted on every file (CAP_FOWNER in the effective set).
bool noatime_everywhere();

}  // namespace audit::fs
