// rpm's sqlite backend (rpm >= 4.16): table Packages(hnum INTEGER PRIMARY KEY, blob BLOB), one
// header blob a row. The database is deserialized from memory read-only, so SQLite never touches
// the audited root: no lock, no -wal or -shm file, no hot-journal rollback. What rpm committed to
// the write-ahead log but not yet checkpointed (another process keeping the database open) is
// replayed onto the in-memory copy.
#include <sqlite3.h>

#include <memory>

#include "audit/error.h"
#include "audit/sources/rpm.h"
#include "formats/text.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxImage = std::size_t{4} << 30;
constexpr int kMaxBlob = 0x0fffffff + 8;
constexpr unsigned kProgressEvery = 10000;  // VM steps between progress checks

[[noreturn]] void bad(const std::string& why) {
    throw UsageError("sqlite: " + why);
}

using text::warn;  // bounded (formats/text.h)

struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

Stmt prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) bad(sqlite3_errmsg(db));
    return Stmt(s);
}

// A crafted schema must not make reading loop for ever: the work allowed grows with the file.
int stop_when_spent(void* budget) {
    auto* left = static_cast<std::uint64_t*>(budget);
    if (*left == 0) return 1;
    --*left;
    return 0;
}

std::uint32_t be32(std::string_view s, std::size_t at) {
    auto b = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i]));
    };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

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
            bad("write-ahead log grows the database past its bound");
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

}  // namespace

std::vector<RpmRecord> read_rpm_sqlite(std::string image, std::string_view wal,
                                       std::vector<std::string>& warnings) {
    if (image.size() < 100 || image.compare(0, 16, std::string("SQLite format 3\0", 16)) != 0)
        bad("not an SQLite 3 database");
    replay_wal(image, wal, warnings);
    // Bytes 18 and 19 say WAL mode (2): the in-memory copy is read as a rollback-journal database,
    // or SQLite would look for a -wal file beside a file that does not exist.
    for (std::size_t i : {18u, 19u})
        if (image[i] == 2) image[i] = 1;

    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) bad("cannot open an in-memory database");
    sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
    sqlite3_limit(db.get(), SQLITE_LIMIT_LENGTH, kMaxBlob);
    rc = sqlite3_deserialize(db.get(), "main", reinterpret_cast<unsigned char*>(image.data()),
                             static_cast<sqlite3_int64>(image.size()),
                             static_cast<sqlite3_int64>(image.size()), SQLITE_DESERIALIZE_READONLY);
    if (rc != SQLITE_OK) bad(sqlite3_errmsg(db.get()));
    std::uint64_t budget = 1000 + image.size() / 4;
    sqlite3_progress_handler(db.get(), kProgressEvery, stop_when_spent, &budget);

    {
        Stmt s = prepare(db.get(), "SELECT type FROM sqlite_master WHERE name = 'Packages'");
        rc = sqlite3_step(s.get());
        if (rc == SQLITE_DONE) bad("no Packages table");
        if (rc != SQLITE_ROW) bad(sqlite3_errmsg(db.get()));
        auto type = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
        if (type == nullptr || std::string(type) != "table") bad("Packages is not a table");
    }
    std::vector<RpmRecord> out;
    Stmt s = prepare(db.get(), "SELECT hnum, blob FROM Packages ORDER BY hnum");
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        sqlite3_int64 hnum = sqlite3_column_int64(s.get(), 0);
        if (hnum <= 0 || hnum > 0xffffffffLL) {
            out.push_back({0, {}, "row hnum=" + std::to_string(hnum) + " out of range"});
            continue;
        }
        if (sqlite3_column_type(s.get(), 1) != SQLITE_BLOB) {
            out.push_back({static_cast<std::uint32_t>(hnum), {}, "row holds no blob"});
            continue;
        }
        auto bytes = static_cast<const char*>(sqlite3_column_blob(s.get(), 1));
        int n = sqlite3_column_bytes(s.get(), 1);
        out.push_back(
            {static_cast<std::uint32_t>(hnum), std::string(bytes ? bytes : "", bytes ? n : 0), {}});
    }
    if (rc == SQLITE_INTERRUPT) bad("reading took more work than a database of its size needs");
    if (rc != SQLITE_DONE) bad(sqlite3_errmsg(db.get()));
    return out;
}

}  // namespace audit::sources
