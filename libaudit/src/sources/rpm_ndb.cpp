// rpm's ndb "Packages.db" (lib/backend/ndb/rpmpkg.c), all little endian: a 32-byte header
// ("RpmP", version 0, generation, slot page count, next package index), slot pages of 4096 bytes
// holding 16-byte slots ("Slot", package index, block offset, block count; offset 0 = free), and
// blobs in 16-byte blocks: "BlbS", package index, timestamp, length, the header blob, zero
// padding, then adler32 (of everything before it), length, "BlbE".
#include <algorithm>
#include <optional>
#include <set>

#include "audit/error.h"
#include "audit/sources/rpm.h"
#include "sources/rpm_db.h"

namespace audit::sources {

namespace {

constexpr std::size_t kPage = 4096, kSlot = 16, kBlock = 16, kHeader = 32;
constexpr std::size_t kBlobHead = 16, kBlobTail = 12;
constexpr std::size_t kMaxSlotPages = 1u << 16;

using rpmdb::le32;

bool tag_at(std::string_view s, std::size_t at, const char (&tag)[5]) {
    return s.substr(at, 4) == tag;
}

// RFC 1950's Adler-32, as rpmpkg.c checks its blobs.
std::uint32_t adler32(std::string_view s) {
    std::uint32_t a = 1, b = 0;
    for (std::size_t i = 0; i < s.size();) {
        std::size_t chunk = std::min<std::size_t>(5552, s.size() - i);
        for (std::size_t k = 0; k < chunk; ++k, ++i) {
            a += static_cast<unsigned char>(s[i]);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

struct Slot {
    std::uint32_t pkgidx, blkoff, blkcnt;
};

// The blob a slot points at, or an explanation of why it is damaged.
std::optional<std::string> blob(std::string_view f, const Slot& s, std::string& why) {
    auto fail = [&](std::string w) {
        why = std::move(w);
        return std::optional<std::string>();
    };
    const std::size_t at = std::size_t{s.blkoff} * kBlock, size = std::size_t{s.blkcnt} * kBlock;
    if (size < kBlobHead + kBlobTail) return fail("too small");
    if (!tag_at(f, at, "BlbS")) return fail("no blob start magic");
    if (le32(f, at + 4) != s.pkgidx)
        return fail("blob names package " + std::to_string(le32(f, at + 4)));
    const std::size_t len = le32(f, at + 12);
    if ((kBlobHead + len + kBlobTail + kBlock - 1) / kBlock != s.blkcnt)
        return fail("length " + std::to_string(len) + " does not fill its " +
                    std::to_string(s.blkcnt) + " blocks");
    const std::size_t tail = at + size - kBlobTail;
    if (!tag_at(f, tail + 8, "BlbE") || le32(f, tail + 4) != len) return fail("bad blob trailer");
    if (adler32(f.substr(at, size - kBlobTail)) != le32(f, tail)) return fail("adler32 mismatch");
    return std::string(f.substr(at + kBlobHead, len));
}

}  // namespace

std::vector<RpmRecord> read_rpm_ndb(std::string_view f) {
    if (f.size() < kHeader)
        rpmdb::bad("ndb", "shorter than its header (" + std::to_string(f.size()) + " bytes)");
    if (!tag_at(f, 0, "RpmP")) rpmdb::bad("ndb", "no RpmP magic");
    if (le32(f, 4) != 0) rpmdb::bad("ndb", "unsupported version " + std::to_string(le32(f, 4)));
    const std::size_t slot_pages = le32(f, 12);
    if (slot_pages == 0 || slot_pages > kMaxSlotPages)
        rpmdb::bad("ndb", "implausible slot page count " + std::to_string(slot_pages));
    if (slot_pages * kPage > f.size()) rpmdb::bad("ndb", "truncated in its slot pages");
    if (f.size() % kBlock != 0)
        rpmdb::bad("ndb", "size " + std::to_string(f.size()) + " is not a whole number of blocks");
    const std::size_t file_blocks = f.size() / kBlock, first_blob = slot_pages * kPage / kBlock;

    std::vector<Slot> slots;
    std::set<std::uint32_t> seen;
    for (std::size_t off = kHeader; off < slot_pages * kPage; off += kSlot) {
        if (!tag_at(f, off, "Slot"))
            rpmdb::bad("ndb", "slot at offset " + std::to_string(off) + " has no Slot magic");
        Slot s{le32(f, off + 4), le32(f, off + 8), le32(f, off + 12)};
        if (s.blkoff == 0) continue;  // free
        if (s.pkgidx == 0 || s.blkcnt == 0 || s.blkoff < first_blob ||
            std::size_t{s.blkoff} + s.blkcnt > file_blocks)
            rpmdb::bad("ndb",
                       "slot at offset " + std::to_string(off) + " points outside the blob area");
        if (!seen.insert(s.pkgidx).second)
            rpmdb::bad("ndb", "package " + std::to_string(s.pkgidx) + " has two slots");
        slots.push_back(s);
    }
    std::vector<RpmRecord> out;
    for (const auto& s : slots) {
        std::string why;
        if (auto b = blob(f, s, why))
            out.push_back({s.pkgidx, std::move(*b), {}});
        else
            out.push_back({s.pkgidx, {}, "blob damaged: " + why});
    }
    return out;
}

}  // namespace audit::sources
