// rpm's sqlite backend (rpm >= 4.16): table Packages(hnum INTEGER PRIMARY KEY, blob BLOB), one
// header blob a row. The file is read by this bounded reader of SQLite's documented file format
// (https://sqlite.org/fileformat2.html: the 100-byte header, table b-trees, records, overflow
// chains), not by linking SQLite: the scanner only ever needs one table's rows, and SQLite with
// its SQL engine was a fifth of audit-scan's size. Nothing touches the audited root: no lock, no
// -wal or -shm file, no hot-journal rollback. What rpm committed to the write-ahead log but not
// yet checkpointed (another process keeping the database open) is replayed onto the in-memory
// copy. tests/unit/rpm_test.cpp compares the rows with SQLite's own on databases SQLite and rpm
// wrote (page sizes, reserved bytes, overflow chains, deep trees, UTF-16, auto-vacuum).
#include <algorithm>
#include <cstdint>
#include <optional>

#include "audit/error.h"
#include "audit/sources/rpm.h"
#include "formats/text.h"
#include "sources/rpm_db.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxImage = std::size_t{4} << 30;
constexpr int kMaxSqliteBlob = 0x0fffffff + 8;

using text::warn;  // bounded (formats/text.h)

using rpmdb::be16;
using rpmdb::be32;

// SQLite's WAL checksum (fileformat2, "Checksum Algorithm"): 32-bit word pairs in the byte order
// the log's magic names, accumulated across the header and every frame.
void wal_checksum(std::string_view s, bool big_endian, std::uint32_t& s0, std::uint32_t& s1) {
    auto word = [&](std::size_t at) {
        std::uint32_t v = be32(s, at);
        return big_endian ? v : __builtin_bswap32(v);
    };
    for (std::size_t i = 0; i + 8 <= s.size(); i += 8) {
        s0 += word(i) + s1;
        s1 += word(i + 4) + s0;
    }
}

// Replays the transactions committed to a write-ahead log onto the image, as SQLite does when it
// opens the database: frames count while their salts and running checksum hold, and only up to
// the last commit frame. Returns the number of frames applied.
std::size_t replay_wal(std::string& image, std::string_view wal,
                       std::vector<std::string>& warnings) {
    if (wal.empty()) return 0;
    auto unusable = [&](const std::string& why) {
        warn(warnings, "write-ahead log not applied: " + why);
        return std::size_t{0};
    };
    if (wal.size() < 32) return unusable("shorter than its header");
    const std::uint32_t magic = be32(wal, 0);
    if ((magic & ~1u) != 0x377f0682) return unusable("no WAL magic");
    const bool big_endian = magic & 1;
    if (be32(wal, 4) != 3007000) return unusable("unknown version " + std::to_string(be32(wal, 4)));
    const std::size_t page_size = be32(wal, 8);
    std::size_t db_page_size =
        (static_cast<unsigned char>(image[16]) << 8) | static_cast<unsigned char>(image[17]);
    if (db_page_size == 1) db_page_size = 65536;
    if (page_size != db_page_size)
        return unusable("page size " + std::to_string(page_size) + ", the database's is " +
                        std::to_string(db_page_size));
    std::uint32_t s0 = 0, s1 = 0;
    wal_checksum(wal.substr(0, 24), big_endian, s0, s1);
    if (s0 != be32(wal, 24) || s1 != be32(wal, 28)) return unusable("header checksum mismatch");
    const std::uint32_t salt1 = be32(wal, 16), salt2 = be32(wal, 20);

    const std::size_t frame = 24 + page_size;
    std::vector<std::size_t> pending;
    std::size_t applied = 0;
    for (std::size_t off = 32; off + frame <= wal.size(); off += frame) {
        if (be32(wal, off + 8) != salt1 || be32(wal, off + 12) != salt2) break;
        wal_checksum(wal.substr(off, 8), big_endian, s0, s1);
        wal_checksum(wal.substr(off + 24, page_size), big_endian, s0, s1);
        if (s0 != be32(wal, off + 16) || s1 != be32(wal, off + 20) || be32(wal, off) == 0) break;
        pending.push_back(off);
        const std::size_t pages_after_commit = be32(wal, off + 4);
        if (pages_after_commit == 0) continue;
        if (pages_after_commit > kMaxImage / page_size)
            rpmdb::bad("sqlite", "write-ahead log grows the database past its bound");
        for (std::size_t f : pending) {
            const std::size_t at = (be32(wal, f) - std::size_t{1}) * page_size;
            if (at + page_size > pages_after_commit * page_size)
                continue;  // truncated away by the commit
            if (image.size() < at + page_size) image.resize(at + page_size, '\0');
            image.replace(at, page_size, wal.substr(f + 24, page_size));
        }
        image.resize(pages_after_commit * page_size, '\0');
        applied += pending.size();
        pending.clear();
    }
    return applied;
}

// SQLite's bound on the depth of a b-tree (BTCURSOR_MAX_DEPTH): a deeper tree is corrupt.
constexpr int kMaxBtreeDepth = 20;

// One database image, read-only: pages by number, each visited at most once (so a b-tree or an
// overflow chain that loops, or two trees sharing a page, is refused and the work is bounded by
// the image's size).
class Image {
  public:
    explicit Image(std::string_view bytes) : bytes_(bytes) {
        page_size_ = be16(bytes, 16);
        if (page_size_ == 1) page_size_ = 65536;
        if (page_size_ < 512 || page_size_ > 65536 || (page_size_ & (page_size_ - 1)) != 0)
            rpmdb::bad("sqlite", "invalid page size " + std::to_string(page_size_));
        if (static_cast<unsigned char>(bytes[18]) > 2)
            rpmdb::bad("sqlite", "file format version " +
                                     std::to_string(static_cast<unsigned char>(bytes[18])) +
                                     " cannot be read");
        const std::size_t reserved = static_cast<unsigned char>(bytes[20]);
        usable_ = page_size_ - reserved;
        if (usable_ < 480)
            rpmdb::bad("sqlite", "usable page size " + std::to_string(usable_) + " below 480");
        const std::size_t in_file = bytes.size() / page_size_;
        pages_ = in_file;
        // The header's page count holds while its version-valid-for matches the change counter.
        const std::size_t in_header = be32(bytes, 28);
        if (in_header != 0 && be32(bytes, 24) == be32(bytes, 92)) {
            if (in_header > in_file)
                malformed("the header counts " + std::to_string(in_header) + " pages, the file " +
                          std::to_string(in_file));
            pages_ = in_header;
        }
        if (pages_ == 0) malformed("no page");
        encoding_ = be32(bytes, 56);
        if (encoding_ == 0) encoding_ = 1;
        if (encoding_ > 3) malformed("unknown text encoding " + std::to_string(encoding_));
        seen_.assign(pages_ + 1, false);
    }

    [[noreturn]] static void malformed(const std::string& why) {
        rpmdb::bad("sqlite", "database disk image is malformed (" + why + ")");
    }

    std::size_t usable() const { return usable_; }
    std::uint32_t encoding() const { return encoding_; }

    // The page's bytes (usable part), claimed: a page is read once in the whole file.
    std::string_view claim(std::uint32_t pgno, const char* what) {
        if (pgno == 0 || pgno > pages_)
            malformed(std::string(what) + " page " + std::to_string(pgno) + " out of range");
        if (seen_[pgno]) malformed(std::string(what) + " page " + std::to_string(pgno) + " reused");
        seen_[pgno] = true;
        return bytes_.substr((pgno - std::size_t{1}) * page_size_, usable_);
    }

  private:
    std::string_view bytes_;
    std::size_t page_size_ = 0, usable_ = 0, pages_ = 0;
    std::uint32_t encoding_ = 1;
    std::vector<bool> seen_;
};

// A varint of SQLite's format (1 to 9 bytes, big-endian, 7 bits a byte and 8 in the ninth).
std::uint64_t varint(std::string_view s, std::size_t& at, std::size_t end) {
    std::uint64_t v = 0;
    for (int i = 0; i < 9; ++i) {
        if (at >= end) Image::malformed("varint past its cell");
        const auto b = static_cast<unsigned char>(s[at++]);
        if (i == 8) return v << 8 | b;
        v = v << 7 | (b & 0x7f);
        if ((b & 0x80) == 0) return v;
    }
    return v;
}

struct Row {
    std::int64_t rowid = 0;
    std::string payload;
};

// Calls row(Row&&) for every row of the table b-tree rooted at `root`, in key order (an explicit
// stack: the depth is bounded as SQLite bounds it, and no recursion follows a crafted tree).
// max_payload bounds one row (SQLite's length limit); row returns false to stop.
template <class Fn>
void table_rows(Image& img, std::uint32_t root, std::size_t max_payload, Fn&& row_fn) {
    const std::size_t u = img.usable();
    std::vector<std::pair<std::uint32_t, int>> todo{{root, 1}};  // pages still to visit, in order
    while (!todo.empty()) {
        // Plain locals, not a structured binding: the lambda below captures pgno, which clang 14
        // (the fuzz preset's compiler) refuses for a binding.
        const std::uint32_t pgno = todo.back().first;
        const int depth = todo.back().second;
        todo.pop_back();
        if (depth > kMaxBtreeDepth)
            Image::malformed("b-tree deeper than " + std::to_string(kMaxBtreeDepth));
        const std::string_view page = img.claim(pgno, "b-tree");
        const std::size_t h = pgno == 1 ? 100 : 0;  // page 1 starts with the file header
        if (h + 12 > u) Image::malformed("page " + std::to_string(pgno) + " too small");
        const auto type = static_cast<unsigned char>(page[h]);
        if (type != 0x05 && type != 0x0d)
            Image::malformed("page " + std::to_string(pgno) + " is not a table b-tree page (type " +
                             std::to_string(type) + ")");
        const bool leaf = type == 0x0d;
        const std::size_t cells = be16(page, h + 3);
        const std::size_t pointers = h + (leaf ? 8 : 12);
        if (pointers + 2 * cells > u)
            Image::malformed("page " + std::to_string(pgno) + " has more cells than room");
        auto cell_at = [&](std::size_t i) {
            const std::size_t at = be16(page, pointers + 2 * i);
            if (at < pointers + 2 * cells || at >= u)
                Image::malformed("cell " + std::to_string(i) + " of page " + std::to_string(pgno) +
                                 " out of its page");
            return at;
        };
        if (!leaf) {
            // Children left to right: each cell's left child, then the right-most pointer; pushed
            // in reverse so that the leftmost is visited first.
            todo.push_back({be32(page, h + 8), depth + 1});
            for (std::size_t i = cells; i-- > 0;) {
                const std::size_t at = cell_at(i);
                if (at + 4 > u) Image::malformed("interior cell past its page");
                todo.push_back({be32(page, at), depth + 1});
            }
            continue;
        }
        for (std::size_t i = 0; i < cells; ++i) {
            std::size_t at = cell_at(i);
            const std::uint64_t size = varint(page, at, u);
            const std::uint64_t rowid = varint(page, at, u);
            if (size > max_payload) rpmdb::bad("sqlite", "string or blob too big");
            // The part of the payload kept on the leaf (fileformat2, "Cell Payload Overflow").
            const std::size_t x = u - 35, m = ((u - 12) * 32 / 255) - 23;
            std::size_t local = size;
            if (size > x) {
                const std::size_t k = m + (size - m) % (u - 4);
                local = k <= x ? k : m;
            }
            if (at + local + (local < size ? 4 : 0) > u)
                Image::malformed("cell payload past its page");
            Row row{static_cast<std::int64_t>(rowid), std::string(page.substr(at, local))};
            if (local < size) {
                std::uint32_t next = be32(page, at + local);
                while (row.payload.size() < size) {
                    const std::string_view ov = img.claim(next, "overflow");
                    const std::size_t take =
                        std::min<std::size_t>(u - 4, size - row.payload.size());
                    row.payload.append(ov.substr(4, take));
                    next = be32(ov, 0);
                }
                if (next != 0) Image::malformed("overflow chain longer than its payload");
            }
            if (!row_fn(std::move(row))) return;
        }
    }
}

// One column of a record: its serial type and bytes.
struct Value {
    std::uint64_t type =
        0;  // SQLite serial type: 0 NULL, 1-6 and 8-9 integers, 7 real, >= 12 blob/text
    std::string_view bytes;
    bool is_int() const { return (type >= 1 && type <= 6) || type == 8 || type == 9; }
    bool is_blob() const { return type >= 12 && type % 2 == 0; }
    bool is_text() const { return type >= 13 && type % 2 == 1; }
    std::int64_t integer() const {
        if (type == 8) return 0;
        if (type == 9) return 1;
        std::uint64_t v = 0;
        for (char c : bytes) v = v << 8 | static_cast<unsigned char>(c);
        const std::size_t bits = bytes.size() * 8;
        if (bits < 64 && (v >> (bits - 1)) != 0) v |= ~std::uint64_t{0} << bits;  // sign
        return static_cast<std::int64_t>(v);
    }
};

std::vector<Value> record(std::string_view p) {
    std::size_t at = 0;
    const std::uint64_t header = varint(p, at, p.size());
    if (header > p.size() || header < at) Image::malformed("record header past its payload");
    std::vector<Value> out;
    std::size_t body = header;
    while (at < header) {
        const std::uint64_t t = varint(p, at, header);
        std::uint64_t n = 0;
        if (t <= 4)
            n = t;
        else if (t == 5)
            n = 6;
        else if (t == 6 || t == 7)
            n = 8;
        else if (t == 10 || t == 11)
            Image::malformed("reserved serial type");
        else if (t >= 12)
            n = (t - 12) / 2;
        if (n > p.size() - body) Image::malformed("record value past its payload");
        out.push_back({t, p.substr(body, n)});
        body += n;
    }
    return out;
}

// Text of the schema in the database's encoding, as ASCII (other characters become '?': the
// names compared here are ASCII).
std::string schema_text(const Value& v, std::uint32_t encoding) {
    if (!v.is_text()) return {};
    if (encoding == 1) return std::string(v.bytes);
    std::string out;
    for (std::size_t i = 0; i + 1 < v.bytes.size(); i += 2) {
        const auto lo = static_cast<unsigned char>(v.bytes[encoding == 2 ? i : i + 1]);
        const auto hi = static_cast<unsigned char>(v.bytes[encoding == 2 ? i + 1 : i]);
        out.push_back(hi == 0 && lo < 0x80 ? static_cast<char>(lo) : '?');
    }
    return out;
}

// Where Packages keeps hnum and blob: their column numbers in the CREATE TABLE statement, and
// whether hnum is the rowid ("INTEGER PRIMARY KEY", as rpm declares it). A statement this reader
// cannot follow is refused, never guessed at.
struct Columns {
    std::size_t hnum = 0, blob = 0;
    bool hnum_is_rowid = false;
};

Columns packages_columns(const std::string& sql) {
    const std::string l = text::lower(sql);
    const std::size_t open = l.find('('), close = l.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        rpmdb::bad("sqlite", "Packages: cannot read its CREATE TABLE statement");
    if (l.find("without rowid", close) != std::string::npos)
        rpmdb::bad("sqlite", "Packages is a WITHOUT ROWID table");
    std::vector<std::string> defs;
    int nest = 0;
    std::string cur;
    for (std::size_t i = open + 1; i < close; ++i) {
        const char c = l[i];
        if (c == '(') ++nest;
        if (c == ')') --nest;
        if (c == ',' && nest == 0) {
            defs.push_back(text::trim(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    defs.push_back(text::trim(cur));
    std::optional<std::size_t> hnum, blob;
    std::string hnum_decl;
    bool rowid = false;
    std::size_t column = 0;
    auto squeeze = [](std::string_view d) {  // one space between words, none around parentheses
        std::string out;
        for (char c : d) {
            const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
            if (space && (out.empty() || out.back() == ' ' || out.back() == '(')) continue;
            if ((c == '(' || c == ')') && !out.empty() && out.back() == ' ') out.pop_back();
            out.push_back(space ? ' ' : c);
        }
        if (!out.empty() && out.back() == ' ') out.pop_back();
        return out;
    };
    auto unquote = [](std::string name) {
        if (name.size() >= 2 && (name.front() == '\'' || name.front() == '"' ||
                                 name.front() == '`' || name.front() == '['))
            name = name.substr(1, name.size() - 2);
        return name;
    };
    bool constraints = false;
    for (const auto& d : defs) {
        const std::string def = squeeze(d);
        const std::size_t e = std::min(def.find(' '), def.size());
        const std::string first = def.substr(0, e);
        if (first == "primary" || first == "unique" || first == "check" || first == "foreign" ||
            first == "constraint" || first.rfind("primary(", 0) == 0)
            constraints = true;  // table constraints follow the columns
        if (constraints) {
            // PRIMARY KEY(hnum) makes an INTEGER column the rowid too (any order).
            for (const char* form :
                 {"primary key(hnum)", "primary key(hnum asc)", "primary key(hnum desc)",
                  "primary key(\"hnum\")", "primary key('hnum')", "primary key(`hnum`)"})
                if (def.rfind(form, 0) == 0 && hnum_decl == "integer") rowid = true;
            continue;
        }
        const std::string name = unquote(first);
        const std::string rest = e < def.size() ? def.substr(e + 1) : std::string();
        if (name == "hnum") {
            hnum = column;
            // SQLite's rule: the declared type exactly INTEGER, and not "PRIMARY KEY DESC".
            hnum_decl = rest.substr(0, rest.find(' '));
            rowid = rest.rfind("integer primary key", 0) == 0 &&
                    rest.rfind("integer primary key desc", 0) != 0;
        }
        if (name == "blob") blob = column;
        ++column;
    }
    if (!hnum || !blob) rpmdb::bad("sqlite", "Packages has no hnum or no blob column");
    return {*hnum, *blob, rowid};
}

}  // namespace

std::vector<RpmRecord> read_rpm_sqlite(std::string image, std::string_view wal,
                                       std::vector<std::string>& warnings) {
    if (image.size() < 100 || image.compare(0, 16, std::string("SQLite format 3\0", 16)) != 0)
        rpmdb::bad("sqlite", "not an SQLite 3 database");
    replay_wal(image, wal, warnings);
    Image img(image);

    // The schema (sqlite_master, rooted at page 1): rpm's Packages table, type and root page.
    std::optional<std::uint32_t> root;
    std::string sql;
    table_rows(img, 1, image.size(), [&](Row&& row) {
        const auto cols = record(row.payload);
        if (cols.size() < 5 || schema_text(cols[1], img.encoding()) != "Packages") return true;
        if (schema_text(cols[0], img.encoding()) != "table")
            rpmdb::bad("sqlite", "Packages is not a table");
        if (!cols[3].is_int() || cols[3].integer() <= 0 || cols[3].integer() > 0xffffffffLL)
            Image::malformed("Packages has no root page");
        root = static_cast<std::uint32_t>(cols[3].integer());
        sql = schema_text(cols[4], img.encoding());
        return false;
    });
    if (!root) rpmdb::bad("sqlite", "no Packages table");
    const Columns where = packages_columns(sql);

    std::vector<RpmRecord> out;
    std::vector<std::int64_t> keys;
    table_rows(img, *root, kMaxSqliteBlob + std::size_t{64}, [&](Row&& row) {
        const auto cols = record(row.payload);
        std::int64_t hnum = row.rowid;
        if (!where.hnum_is_rowid) {
            if (where.hnum >= cols.size() || !cols[where.hnum].is_int()) {
                out.push_back({0, {}, "row hnum is not an integer"});
                keys.push_back(0);
                return true;
            }
            hnum = cols[where.hnum].integer();
        }
        keys.push_back(hnum);
        if (hnum <= 0 || hnum > 0xffffffffLL) {
            out.push_back({0, {}, "row hnum=" + std::to_string(hnum) + " out of range"});
            return true;
        }
        if (where.blob >= cols.size() || !cols[where.blob].is_blob()) {
            out.push_back({static_cast<std::uint32_t>(hnum), {}, "row holds no blob"});
            return true;
        }
        if (cols[where.blob].bytes.size() > static_cast<std::size_t>(kMaxSqliteBlob))
            rpmdb::bad("sqlite", "string or blob too big");
        out.push_back({static_cast<std::uint32_t>(hnum), std::string(cols[where.blob].bytes), {}});
        return true;
    });
    // ORDER BY hnum: the b-tree's order when hnum is the rowid; sorted otherwise.
    std::vector<std::size_t> order(out.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    std::vector<RpmRecord> sorted;
    sorted.reserve(out.size());
    for (std::size_t i : order) sorted.push_back(std::move(out[i]));
    return sorted;
}

}  // namespace audit::sources
