// rpm's Berkeley DB "Packages": a hash database (key: header number, value: header blob), read
// page by page without libdb. Layout from Berkeley DB's dbinc/db_page.h and hash.h as rpm's own
// reader (lib/backend/bdb_ro.c) walks it: a metadata page, then buckets of chained hash pages
// whose items are key/data pairs, stored inline or in chains of overflow pages.
#include <vector>

#include "audit/error.h"
#include "audit/sources/rpm.h"
#include "formats/text.h"
#include "sources/rpm_db.h"

namespace audit::sources {

namespace {

constexpr std::uint32_t kHashMagic = 0x00061561;
constexpr std::uint32_t kBtreeMagic = 0x00053162;
constexpr std::size_t kPageHeader = 26;  // lsn, pgno, prev, next, entries, hf_offset, level, type
constexpr std::size_t kMaxBlob = 0x0fffffff + 8;  // a header rpm itself would accept

// Page types (db_page.h).
constexpr unsigned kHashUnsorted = 2, kOverflow = 7, kHashMeta = 8, kHash = 13;
// Item types on hash pages.
constexpr unsigned kKeyData = 1, kDuplicate = 2, kOffPage = 3, kOffDup = 4;

using text::warn;  // bounded (formats/text.h)

class HashFile {
  public:
    explicit HashFile(std::string_view f) : f_(f) {
        if (f.size() < 512)
            rpmdb::bad("Berkeley DB hash",
                       "shorter than a metadata page (" + std::to_string(f.size()) + " bytes)");
        // The magic tells the byte order the file was written in (the writer's own).
        big_endian_ = false;
        std::uint32_t m = u32(12);
        if (m != kHashMagic && m != kBtreeMagic) {
            big_endian_ = true;
            m = u32(12);
        }
        if (m == kBtreeMagic)
            rpmdb::bad("Berkeley DB hash", "a B-tree database, not rpm's hash Packages");
        if (m != kHashMagic)
            rpmdb::bad("Berkeley DB hash", "not a Berkeley DB hash database (no magic)");
        std::uint32_t version = u32(16);
        if (version < 8 || version > 10)
            rpmdb::bad("Berkeley DB hash", "unsupported hash version " + std::to_string(version));
        page_size_ = u32(20);
        if (page_size_ < 512 || page_size_ > 65536 || (page_size_ & (page_size_ - 1)))
            rpmdb::bad("Berkeley DB hash", "implausible page size " + std::to_string(page_size_));
        if (byte(24) != 0) rpmdb::bad("Berkeley DB hash", "encrypted database");
        if (byte(25) != kHashMeta)
            rpmdb::bad("Berkeley DB hash", "page 0 is not a hash metadata page");
        if (byte(26) & 1) rpmdb::bad("Berkeley DB hash", "page checksums are not supported");
        last_page_ = u32(32);
        if ((std::uint64_t{last_page_} + 1) * page_size_ > f.size())
            rpmdb::bad("Berkeley DB hash", "truncated: " + std::to_string(f.size()) +
                                               " bytes for " + std::to_string(last_page_ + 1) +
                                               " pages of " + std::to_string(page_size_));
        max_bucket_ = u32(72);
        if (max_bucket_ > last_page_) rpmdb::bad("Berkeley DB hash", "more buckets than pages");
        for (std::size_t i = 0; i < 32; ++i) spares_[i] = u32(96 + i * 4);
        seen_.assign(std::size_t{last_page_} + 1, false);
    }

    void read(std::vector<RpmRecord>& out, std::vector<std::string>& warnings) {
        for (std::uint32_t bucket = 0; bucket <= max_bucket_; ++bucket) {
            unsigned bits = 0;
            for (std::uint32_t b = bucket; b; b >>= 1) ++bits;
            std::uint64_t pg = std::uint64_t{bucket} + spares_[bits];
            while (pg != 0) {
                std::size_t p = page(pg, "bucket " + std::to_string(bucket));
                unsigned type = byte(p + 25);
                if (type != kHash && type != kHashUnsorted)
                    rpmdb::bad("Berkeley DB hash", "page " + std::to_string(pg) + " in bucket " +
                                                       std::to_string(bucket) + " has type " +
                                                       std::to_string(type) + ", not a hash page");
                items(pg, p, out, warnings);
                pg = u32(p + 16);
            }
        }
    }

  private:
    std::uint32_t u32(std::size_t at) const {
        return big_endian_ ? rpmdb::be32(f_, at) : rpmdb::le32(f_, at);
    }
    std::uint32_t u16(std::size_t at) const {
        return big_endian_ ? rpmdb::be16(f_, at) : rpmdb::le16(f_, at);
    }
    unsigned byte(std::size_t at) const { return static_cast<unsigned char>(f_[at]); }

    // File offset of a page, visited at most once: a cycle or a page shared by two chains is
    // damage.
    std::size_t page(std::uint64_t pg, const std::string& via) {
        if (pg == 0 || pg > last_page_)
            rpmdb::bad("Berkeley DB hash",
                       via + ": page number " + std::to_string(pg) + " out of range");
        if (seen_[pg])
            rpmdb::bad("Berkeley DB hash",
                       via + ": page " + std::to_string(pg) + " reached twice (a cycle)");
        seen_[pg] = true;
        std::size_t p = pg * std::size_t{page_size_};
        if (u32(p + 8) != pg)
            rpmdb::bad("Berkeley DB hash", "page " + std::to_string(pg) + " says it is page " +
                                               std::to_string(u32(p + 8)));
        return p;
    }

    // One key or data item: [off, off+len) on the page at p.
    std::string item(std::size_t p, std::size_t off, std::size_t len, const std::string& where) {
        unsigned type = byte(p + off);
        if (type == kKeyData) return std::string(f_.substr(p + off + 1, len - 1));
        if (type == kOffPage) {
            if (len != 12)
                rpmdb::bad("Berkeley DB hash",
                           where + ": off-page item of " + std::to_string(len) + " bytes");
            return overflow(u32(p + off + 4), u32(p + off + 8), where);
        }
        if (type == kDuplicate || type == kOffDup)
            rpmdb::bad("Berkeley DB hash", where + ": duplicate keys (not rpm's Packages)");
        rpmdb::bad("Berkeley DB hash", where + ": unknown item type " + std::to_string(type));
    }

    std::string overflow(std::uint32_t pg, std::uint32_t total, const std::string& where) {
        if (total == 0 || total > kMaxBlob)
            rpmdb::bad("Berkeley DB hash",
                       where + ": implausible overflow length " + std::to_string(total));
        std::string out;
        while (out.size() < total) {
            if (pg == 0)
                rpmdb::bad("Berkeley DB hash", where + ": overflow chain ends after " +
                                                   std::to_string(out.size()) + " of " +
                                                   std::to_string(total) + " bytes");
            std::size_t p = page(pg, where);
            if (byte(p + 25) != kOverflow)
                rpmdb::bad("Berkeley DB hash",
                           where + ": page " + std::to_string(pg) + " is not an overflow page");
            std::size_t len = u16(p + 22);
            if (len + kPageHeader > page_size_ || len > total - out.size() || len == 0)
                rpmdb::bad("Berkeley DB hash", where + ": overflow page " + std::to_string(pg) +
                                                   " holds " + std::to_string(len) + " bytes");
            out.append(f_.substr(p + kPageHeader, len));
            pg = u32(p + 16);
        }
        return out;
    }

    void items(std::uint64_t pg, std::size_t p, std::vector<RpmRecord>& out,
               std::vector<std::string>& warnings) {
        const std::string where = "page " + std::to_string(pg);
        std::size_t n = u16(p + 20);
        if (n % 2 != 0)
            rpmdb::bad("Berkeley DB hash", where + ": odd number of items " + std::to_string(n));
        if (kPageHeader + n * 2 > page_size_)
            rpmdb::bad("Berkeley DB hash", where + ": " + std::to_string(n) + " items do not fit");
        std::size_t end = page_size_;  // items are laid out from the page's end downwards
        for (std::size_t i = 0; i < n; i += 2) {
            std::size_t koff = u16(p + kPageHeader + i * 2),
                        doff = u16(p + kPageHeader + i * 2 + 2);
            if (koff < kPageHeader + n * 2 || koff >= end || doff < kPageHeader + n * 2 ||
                doff >= koff)
                rpmdb::bad("Berkeley DB hash",
                           where + ": item " + std::to_string(i) + " has offsets out of order");
            std::string key = item(p, koff, end - koff, where + " item " + std::to_string(i));
            std::string value =
                item(p, doff, koff - doff, where + " item " + std::to_string(i + 1));
            end = doff;
            if (key.size() != 4) {
                warn(warnings,
                     where + ": a key of " + std::to_string(key.size()) + " bytes skipped");
                continue;
            }
            std::uint32_t k = u32_of(key);
            if (k == 0) continue;  // rpm < 4.16 kept its last instance number under key 0
            out.push_back({k, std::move(value), {}});
        }
    }

    std::uint32_t u32_of(const std::string& k) const {
        return big_endian_ ? rpmdb::be32(k, 0) : rpmdb::le32(k, 0);
    }

    std::string_view f_;
    bool big_endian_ = false;
    std::uint32_t page_size_ = 0, last_page_ = 0, max_bucket_ = 0;
    std::uint32_t spares_[32] = {};
    std::vector<bool> seen_;
};

}  // namespace

std::vector<RpmRecord> read_rpm_bdb(std::string_view file, std::vector<std::string>& warnings) {
    HashFile db(file);
    std::vector<RpmRecord> out;
    db.read(out, warnings);
    return out;
}

}  // namespace audit::sources
