#include "audit/evidence/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <botan/hash.h>
#include <botan/hex.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <set>

#include "audit/core/atomic_file.h"
#include "audit/error.h"
#include "audit/file_lock.h"
#include "audit/fs/walker.h"
#include "audit/strict_json.h"
#include "audit/trust/certificate.h"

// libarchive's pax writer reports unsupported entry types through a helper that lives in the
// object holding the table of *all* write formats; linking that object drags xar/7zip/iso9660
// and with them libxml2 and nettle into a static tool (37 MB). We write regular files only, so
// this small definition of the helper (same C signature, libarchive 3.6) keeps the tools lean.
extern "C" void __archive_write_entry_filetype_unsupported(struct archive* a,
                                                           struct archive_entry* entry,
                                                           const char* format) {
    const char* name = archive_entry_pathname(entry);
    archive_set_error(a, EINVAL, "%s: %s cannot hold this file type", name ? name : "entry",
                      format);
}

namespace audit::evidence {

namespace {

std::string errno_text(int e) {
    return std::strerror(e);
}

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

struct Digests {
    std::unique_ptr<Botan::HashFunction> sha256 = Botan::HashFunction::create_or_throw("SHA-256");
    std::unique_ptr<Botan::HashFunction> sha384 = Botan::HashFunction::create_or_throw("SHA-384");
    void update(const char* p, std::size_t n) {
        sha256->update(reinterpret_cast<const std::uint8_t*>(p), n);
        sha384->update(reinterpret_cast<const std::uint8_t*>(p), n);
    }
    std::pair<std::string, std::string> final() {
        return {Botan::hex_encode(sha256->final(), false),
                Botan::hex_encode(sha384->final(), false)};
    }
};

// The bundle's zstd stream, decompressed here instead of by libarchive's filter, so the reader
// knows where the frames and the tar stream end: a bundle is refused when anything follows
// either (bytes that no signature covers and different readers treat differently). The file's
// own SHA-256 is taken from the same reads (one pass over the file, and the digest is of the
// bytes that were verified). Decompressed chunks go into a ring of buffers: the last few handed
// to libarchive stay readable for the tail check without copying every chunk.
class ZstdTarSource {
  public:
    explicit ZstdTarSource(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw IoError("cannot read " + path + ": " + errno_text(errno));
        ds_ = ZSTD_createDStream();
        if (!ds_) throw IoError("out of memory");
        ZSTD_DCtx_setParameter(ds_, ZSTD_d_windowLogMax, 27);
        in_.resize(ZSTD_DStreamInSize());
        for (auto& b : ring_) b.resize(kChunk);
    }
    ~ZstdTarSource() {
        if (ds_) ZSTD_freeDStream(ds_);
        if (fd_ >= 0) ::close(fd_);
    }
    ZstdTarSource(const ZstdTarSource&) = delete;
    ZstdTarSource& operator=(const ZstdTarSource&) = delete;

    // libarchive's read callback: the next decompressed bytes, 0 at the end, -1 on an error
    // (kept in error(); no exception may cross libarchive's C frames).
    static la_ssize_t read_cb(archive* a, void* self, const void** buffer) {
        auto* src = static_cast<ZstdTarSource*>(self);
        try {
            std::size_t n = src->next();
            *buffer = src->ring_[src->cur_].data();
            return static_cast<la_ssize_t>(n);
        } catch (const std::exception& e) {
            src->error_ = e.what();
            archive_set_error(a, EINVAL, "%s", e.what());
            return -1;
        }
    }
    const std::string& error() const { return error_; }

    // After the tar reader reported its end at offset consumed of the tar stream: every byte
    // from there on (end-of-archive blocks, record padding) must be zero, and the file must end
    // where the last zstd frame does.
    void check_trailer(std::uint64_t consumed) {
        constexpr std::uint64_t kMaxTrailer = 1u << 20;  // GNU tar pads to 10 KiB records
        if (consumed > delivered_)
            throw VerifyError("bundle is corrupt: the tar reader passed the end of the stream");
        std::uint64_t offset = delivered_;
        for (const auto& chunk : recent_) offset -= chunk.size();
        if (consumed < offset)
            throw VerifyError("bundle: cannot check what follows the end of the archive");
        for (const auto& chunk : recent_) {  // from the tar's end on (not the whole chunks)
            const std::size_t from = consumed > offset
                                         ? static_cast<std::size_t>(std::min<std::uint64_t>(
                                               consumed - offset, chunk.size()))
                                         : 0;
            if (std::any_of(chunk.begin() + static_cast<std::ptrdiff_t>(from), chunk.end(),
                            [](char c) { return c != 0; }))
                throw VerifyError(
                    "bundle has data after the tar end-of-archive marker (refused: no "
                    "signature covers it)");
            offset += chunk.size();
        }
        recent_.clear();
        std::uint64_t trailer = delivered_ - consumed;
        for (;;) {
            std::size_t n = next();
            if (n == 0) break;
            trailer += n;
            if (trailer > kMaxTrailer)
                throw VerifyError("bundle has more than 1 MiB after the tar end-of-archive marker");
            const char* out = ring_[cur_].data();
            for (std::size_t i = 0; i < n; ++i)
                if (out[i] != 0)
                    throw VerifyError(
                        "bundle has data after the tar end-of-archive marker (refused: no "
                        "signature covers it)");
            recent_.clear();
        }
    }

    // The SHA-256 of the whole file, once check_trailer has read it to its end.
    std::string file_sha256() {
        if (!in_eof_ || ib_.pos < ib_.size)
            throw VerifyError("bundle: the file was not read to its end");
        return Botan::hex_encode(file_hash_->final(), false);
    }

  private:
    bool fill() {
        if (ib_.pos < ib_.size) return true;
        if (in_eof_) return false;
        for (;;) {
            ssize_t n = ::read(fd_, in_.data(), in_.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw IoError("cannot read " + path_ + ": " + errno_text(errno));
            file_hash_->update(reinterpret_cast<const std::uint8_t*>(in_.data()),
                               static_cast<std::size_t>(n));
            ib_ = {in_.data(), static_cast<std::size_t>(n), 0};
            if (n == 0) in_eof_ = true;
            return n > 0;
        }
    }

    // At a frame boundary: the next frame must be a zstd data frame (a skippable frame carries
    // bytes nobody checks).
    void check_frame_start() {
        unsigned char magic[4];
        std::size_t have = 0;
        while (have < 4) {
            if (!fill()) {
                if (have == 0 && frames_ > 0) return;  // clean end of the file
                if (have == 0) throw VerifyError("not an evidence bundle (an empty file)");
                throw VerifyError("bundle has bytes after its last zstd frame");
            }
            magic[have++] = static_cast<const unsigned char*>(ib_.src)[ib_.pos++];
        }
        const std::uint32_t m = magic[0] | (magic[1] << 8) | (magic[2] << 16) |
                                (static_cast<std::uint32_t>(magic[3]) << 24);
        if (m != 0xFD2FB528u)
            throw VerifyError(frames_ == 0 ? "not an evidence bundle (not zstd)"
                                           : "bundle has bytes after its last zstd frame");
        ++frames_;
        ZSTD_inBuffer head{magic, 4, 0};
        ZSTD_outBuffer ob{ring_[cur_].data(), 0, 0};
        std::size_t r = ZSTD_decompressStream(ds_, &ob, &head);
        if (ZSTD_isError(r) || head.pos != 4)
            throw VerifyError(std::string("bundle: corrupt zstd data (") +
                              (ZSTD_isError(r) ? ZSTD_getErrorName(r) : "frame header") + ")");
        last_ = r;
    }

    // Up to kChunk decompressed bytes into the next buffer of the ring (ring_[cur_]); 0 at the
    // end of the last frame. The kRecent buffers before it keep what they were given.
    std::size_t next() {
        cur_ = (cur_ + 1) % ring_.size();
        for (;;) {
            if (last_ == 0) {  // between frames
                check_frame_start();
                if (last_ == 0) return 0;  // the file ended cleanly
            }
            const bool more = fill();  // the decoder may still hold output without input
            ZSTD_outBuffer ob{ring_[cur_].data(), kChunk, 0};
            std::size_t r = ZSTD_decompressStream(ds_, &ob, &ib_);
            if (ZSTD_isError(r))
                throw VerifyError(std::string("bundle: corrupt zstd data (") +
                                  ZSTD_getErrorName(r) + ")");
            last_ = r;
            if (ob.pos > 0) {
                delivered_ += ob.pos;
                recent_.emplace_back(ring_[cur_].data(), ob.pos);
                while (recent_.size() > kRecent) recent_.pop_front();
                return ob.pos;
            }
            if (!more && last_ != 0)
                throw VerifyError("bundle is truncated (its zstd frame is incomplete)");
        }
    }

    std::string path_;
    int fd_ = -1;
    ZSTD_DStream* ds_ = nullptr;
    static constexpr std::size_t kChunk = 1 << 17, kRecent = 4;
    std::vector<char> in_;
    std::array<std::vector<char>, kRecent + 1> ring_;  // kRecent kept + the one being filled
    std::size_t cur_ = 0;
    std::unique_ptr<Botan::HashFunction> file_hash_ =
        Botan::HashFunction::create_or_throw("SHA-256");
    ZSTD_inBuffer ib_{nullptr, 0, 0};
    bool in_eof_ = false;
    std::size_t last_ = 0;  // ZSTD_decompressStream's hint: 0 = at a frame boundary
    std::uint64_t frames_ = 0, delivered_ = 0;
    std::deque<std::string_view> recent_;  // the last chunks handed to libarchive (tail check)
    std::string error_;
};
}  // namespace

std::string_view evidence_predicate_type(int format) {
    switch (format) {
        case 1:
            return kEvidencePredicate;
        case 2:
            return kEvidencePredicateV2;
        case 3:
            return kEvidencePredicateV3;
        default:
            throw UsageError("no bundle format " + std::to_string(format));
    }
}

int evidence_format(std::string_view predicate_type) {
    for (int format = 1; format <= kBundleFormat; ++format)
        if (predicate_type == evidence_predicate_type(format)) return format;
    return 0;
}

const std::vector<std::string>& content_files() {
    static const std::vector<std::string> files = {
        "coverage.json",   "files.jsonl", "findings.json", "host.json",
        "inventory.jsonl", "log.jsonl",   "sbom.cdx.json"};
    return files;
}

std::string file_digest(const std::string& path, const std::string& algorithm) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open " + path + ": " + errno_text(errno));
    auto hash = Botan::HashFunction::create_or_throw(algorithm);
    std::vector<std::uint8_t> buf(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            throw IoError("cannot read " + path + ": " + errno_text(e));
        }
        if (n == 0) break;
        hash->update(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    return Botan::hex_encode(hash->final(), false);
}

std::string file_sha256(const std::string& path) {
    return file_digest(path, "SHA-256");
}

WrittenBundle write_bundle(const std::string& out_dir, const std::string& file_name,
                           const std::map<std::string, std::string>& files,
                           const nlohmann::json& predicate, const crypto::SigningKey& key,
                           std::int64_t entry_mtime, int format) {
    return write_bundle(out_dir, file_name, files, {}, predicate, key, entry_mtime, format);
}

WrittenBundle write_bundle(const std::string& out_dir, const std::string& file_name,
                           const std::map<std::string, std::string>& files,
                           const std::map<std::string, std::string>& files_on_disk,
                           const nlohmann::json& predicate, const crypto::SigningKey& key,
                           std::int64_t entry_mtime, int format) {
    const std::string_view predicate_type = evidence_predicate_type(format);
    const auto& allowed = content_files();
    std::set<std::string> names;
    for (const auto* m : {&files, &files_on_disk})
        for (const auto& [name, unused] : *m) {
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
                throw UsageError("a bundle has no content file named " + name);
            if (!names.insert(name).second)
                throw UsageError("bundle content file " + name + " given twice");
        }
    std::vector<char> buf(1 << 20);
    // Streams a file on disk through fn(bytes, n); returns its size.
    auto stream = [&](const std::string& path, const auto& fn) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw IoError("cannot open " + path + ": " + errno_text(errno));
        std::uint64_t total = 0;
        for (;;) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                int e = errno;
                ::close(fd);
                throw IoError("cannot read " + path + ": " + errno_text(e));
            }
            if (n == 0) break;
            fn(buf.data(), static_cast<std::size_t>(n));
            total += static_cast<std::uint64_t>(n);
        }
        ::close(fd);
        return total;
    };
    nlohmann::json subjects = nlohmann::json::array();
    std::map<std::string, std::uint64_t> disk_sizes;
    for (const auto& name : names) {
        Digests d;
        if (auto it = files.find(name); it != files.end()) {
            d.update(it->second.data(), it->second.size());
        } else {
            disk_sizes[name] = stream(files_on_disk.at(name),
                                      [&](const char* p, std::size_t n) { d.update(p, n); });
        }
        auto [sha256, sha384] = d.final();
        subjects.push_back({{"name", name}, {"digest", {{"sha256", sha256}, {"sha384", sha384}}}});
    }
    nlohmann::json statement = {{"_type", kStatementType},
                                {"subject", subjects},
                                {"predicateType", predicate_type},
                                {"predicate", predicate}};
    crypto::Envelope env;
    env.payload_type = std::string(kPayloadType);
    // The predicate carries host text (the root path as given, ...): never refuse it for bytes
    // that are not UTF-8.
    env.payload = statement.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    env.sign(key);
    std::string envelope_json = env.to_json();
    const std::string statement_sha256 = fs::sha256_hex(env.payload);

    std::string target = out_dir + "/" + file_name;
    core::AtomicFile tmp(target);
    std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
    if (!a) throw IoError("out of memory");
    // pax restricted: plain ustar headers unless a field needs pax, so plain tar can list it.
    if (archive_write_add_filter_zstd(a.get()) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
        archive_write_open_fd(a.get(), tmp.fd()) != ARCHIVE_OK)
        throw IoError("cannot start bundle " + target + ": " + archive_error_string(a.get()));

    auto header = [&](const std::string& name, std::uint64_t size) {
        std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
        archive_entry_set_mtime(e.get(), entry_mtime, 0);
        archive_entry_set_uid(e.get(), 0);
        archive_entry_set_gid(e.get(), 0);
        if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
            throw IoError("cannot write bundle " + target + ": " + archive_error_string(a.get()));
    };
    auto data = [&](const char* bytes, std::size_t size) {
        std::size_t done = 0;
        while (done < size) {
            la_ssize_t n = archive_write_data(a.get(), bytes + done, size - done);
            if (n <= 0)
                throw IoError("cannot write bundle " + target + ": " +
                              archive_error_string(a.get()));
            done += static_cast<std::size_t>(n);
        }
    };
    header(std::string(kStatementEntry), envelope_json.size());
    data(envelope_json.data(), envelope_json.size());
    for (const auto& name : names) {  // sorted by name
        if (auto it = files.find(name); it != files.end()) {
            header(name, it->second.size());
            data(it->second.data(), it->second.size());
            continue;
        }
        const std::uint64_t size = disk_sizes.at(name);
        header(name, size);
        if (stream(files_on_disk.at(name), data) != size)
            throw IoError(files_on_disk.at(name) + " changed while the bundle was written");
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK)
        throw IoError("cannot finish bundle " + target + ": " + archive_error_string(a.get()));
    a.reset();
    tmp.commit(/*no_replace=*/true, 0644);
    return {target, file_sha256(target), statement_sha256};
}

std::string read_statement_sha256_unverified(const std::string& path) {
    ZstdTarSource source(path);
    std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
    if (!a) throw IoError("out of memory");
    archive_read_support_format_tar(a.get());
    archive_entry* e = nullptr;
    if (archive_read_open(a.get(), &source, nullptr, &ZstdTarSource::read_cb, nullptr) !=
            ARCHIVE_OK ||
        archive_read_next_header(a.get(), &e) != ARCHIVE_OK || !archive_entry_pathname(e) ||
        archive_entry_pathname(e) != kStatementEntry)
        throw VerifyError(path + ": not an evidence bundle");
    std::string text;
    std::vector<char> buf(1 << 16);
    for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) throw VerifyError(path + ": corrupt statement entry");
        if (n == 0) break;
        text.append(buf.data(), static_cast<std::size_t>(n));
        if (text.size() > BundleLimits{}.max_statement)
            throw VerifyError(path + ": statement entry too large");
    }
    return fs::sha256_hex(crypto::Envelope::parse(text, BundleLimits{}.max_statement).payload);
}

Bundle read_bundle(const std::string& path, const trust::TrustRoot& trust, bool keep_files,
                   const BundleLimits& limits) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw IoError("cannot read " + path + ": " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) throw UsageError(path + ": not a regular file");

    Bundle b;
    b.path = path;

    ZstdTarSource source(path);  // b.sha256 comes from its reads
    std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
    if (!a) throw IoError("out of memory");
    archive_read_support_format_tar(a.get());
    if (archive_read_open(a.get(), &source, nullptr, &ZstdTarSource::read_cb, nullptr) !=
        ARCHIVE_OK) {
        if (!source.error().empty()) throw VerifyError(source.error());
        throw VerifyError("not an evidence bundle (tar+zstd): " +
                          std::string(archive_error_string(a.get())));
    }
    // The reader's own error (zstd, truncation, I/O) names the cause better than libarchive.
    auto archive_error = [&](const char* fallback) {
        if (!source.error().empty()) return source.error();
        const char* e = archive_error_string(a.get());
        return std::string(e ? e : fallback);
    };

    // libarchive's own blocks (no copy into a buffer of ours); a gap between blocks (a sparse
    // entry's hole) reads as zeros, as archive_read_data would give it.
    static const std::vector<char> zeros(1 << 16, 0);
    auto read_entry = [&](archive_entry* e, const std::string& name, std::uint64_t max,
                          Digests* digests, std::string* keep) {
        std::uint64_t total = 0;
        if (keep && archive_entry_size_is_set(e) && archive_entry_size(e) > 0)
            keep->reserve(static_cast<std::size_t>(
                std::min<std::uint64_t>(static_cast<std::uint64_t>(archive_entry_size(e)), max)));
        auto take = [&](const char* p, std::size_t n) {
            total += n;
            if (total > max) throw VerifyError("entry " + name + " exceeds its size bound");
            if (digests) digests->update(p, n);
            if (keep) keep->append(p, n);
        };
        for (;;) {
            const void* block = nullptr;
            std::size_t size = 0;
            la_int64_t offset = 0;
            int r = archive_read_data_block(a.get(), &block, &size, &offset);
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK || offset < 0 || static_cast<std::uint64_t>(offset) < total)
                throw VerifyError("entry " + name + " is corrupt: " + archive_error("?"));
            while (total < static_cast<std::uint64_t>(offset))
                take(zeros.data(), static_cast<std::size_t>(std::min<std::uint64_t>(
                                       zeros.size(), static_cast<std::uint64_t>(offset) - total)));
            if (size > 0) take(static_cast<const char*>(block), size);
        }
        if (archive_entry_size_is_set(e) &&
            static_cast<std::uint64_t>(archive_entry_size(e)) != total)
            throw VerifyError("entry " + name + " is truncated");
    };
    auto check_entry = [&](archive_entry* e) -> std::string {
        const char* p = archive_entry_pathname(e);
        std::string name = p ? p : "";
        if (!safe_relative_path(name))
            throw VerifyError("unsafe entry path '" + name + "' in bundle");
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
            archive_entry_symlink(e))
            throw VerifyError("entry " + name + " is not a regular file (links are refused)");
        return name;
    };

    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc != ARCHIVE_OK)
        throw VerifyError("not an evidence bundle: " + archive_error("empty archive"));
    std::string first = check_entry(e);
    if (first != kStatementEntry)
        throw VerifyError("first entry must be " + std::string(kStatementEntry) + ", found " +
                          first);
    std::string envelope_json;
    read_entry(e, first, limits.max_statement, nullptr, &envelope_json);

    // Verify the signature before looking at anything else.
    b.envelope = crypto::Envelope::parse(envelope_json, limits.max_statement);
    if (b.envelope.payload_type != kPayloadType)
        throw VerifyError("statement has payloadType '" + b.envelope.payload_type + "', expected " +
                          std::string(kPayloadType));
    // The statement names its collector's certificate; nothing in it is trusted until the
    // certificate and the signature over the statement both verify.
    // Strict: a duplicate key means one thing here and another to a reader that keeps the first.
    b.statement = parse_json_strict(b.envelope.payload, "statement payload");
    // Unsigned bytes still: no value(), which throws a JSON type error on a non-string.
    auto is = [&](const char* key, std::string_view want) {
        auto it = b.statement.find(key);
        return it != b.statement.end() && it->is_string() && *it == want;
    };
    if (!b.statement.is_object() || !is("_type", kStatementType))
        throw VerifyError("statement is not an in-toto statement v1");
    if (auto t = b.statement.find("predicateType"); t != b.statement.end() && t->is_string())
        b.format = evidence_format(t->get_ref<const std::string&>());
    else
        b.format = 0;
    if (b.format == 0) throw VerifyError("statement is not an evidence statement (v1, v2 or v3)");
    if (!b.statement.contains("subject") || !b.statement["subject"].is_array() ||
        !b.statement.contains("predicate") || !b.statement["predicate"].is_object())
        throw VerifyError("statement is not an evidence statement v" + std::to_string(b.format));
    // As trust::verify_bundle_signer, with the certificate's check remembered per kit: the
    // bundles of a kit share one certificate (same text, same trust root: same answer).
    {
        const auto cert = trust::bundle_certificate_cache().verify(
            trust, trust::bundle_certificate_text(b.statement["predicate"]));
        trust::check_bundle_signer(cert, b.envelope, b.statement["predicate"]);
        b.signers = {cert.collector.keyid};
    }
    b.statement_sha256 = fs::sha256_hex(b.envelope.payload);
    // Signed is not well-formed: a stolen collector key can sign anything. Every field the
    // verifier, attest and the ledger read must have its type before any of them looks: the
    // typed predicate's reader is the shape check.
    b.evidence = Predicate::from_json(b.statement["predicate"], b.format);

    std::map<std::string, std::pair<std::string, std::string>> expected;  // name -> sha256, sha384
    const auto& allowed = content_files();
    for (const auto& s : b.statement["subject"]) {
        if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
            !s.contains("digest") || !s["digest"].is_object())
            throw VerifyError("statement subject is malformed");
        std::string name = s["name"];
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
            throw VerifyError("statement lists an unknown content file " + name);
        const auto& d = s["digest"];
        if (!d.contains("sha256") || !d.contains("sha384") || !d["sha256"].is_string() ||
            !d["sha384"].is_string())
            throw VerifyError("subject " + name + " lacks its sha256 and sha384 digests");
        if (!expected.emplace(name, std::make_pair(d["sha256"], d["sha384"])).second)
            throw VerifyError("statement lists " + name + " twice");
    }

    std::set<std::string> seen;
    std::uint64_t entries = 1;
    while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
        if (++entries > limits.max_entries) throw VerifyError("bundle has too many entries");
        std::string name = check_entry(e);
        auto it = expected.find(name);
        if (it == expected.end())
            throw VerifyError("entry " + name + " is not in the signed statement");
        if (!seen.insert(name).second) throw VerifyError("entry " + name + " appears twice");
        bool keep = keep_files &&
                    (!archive_entry_size_is_set(e) ||
                     static_cast<std::uint64_t>(archive_entry_size(e)) <= limits.max_kept_entry);
        std::string content;
        Digests d;
        read_entry(e, name, limits.max_entry, &d, keep ? &content : nullptr);
        auto [sha256, sha384] = d.final();
        if (sha256 != it->second.first) throw VerifyError("sha256 digest mismatch on " + name);
        if (sha384 != it->second.second) throw VerifyError("sha384 digest mismatch on " + name);
        if (keep) b.files.emplace(name, std::move(content));
    }
    if (rc != ARCHIVE_EOF) throw VerifyError("bundle is corrupt: " + archive_error("read error"));
    // Nothing after the archive's end: no member past the end-of-archive blocks (ignored by
    // this reader, listed by others), no byte after the last zstd frame.
    source.check_trailer(static_cast<std::uint64_t>(archive_filter_bytes(a.get(), 0)));
    for (const auto& [name, digests] : expected)
        if (!seen.count(name)) throw VerifyError("content file " + name + " is missing");
    b.sha256 = source.file_sha256();
    return b;
}

}  // namespace audit::evidence
