// rpm's sqlite backend (rpm >= 4.16): table Packages(hnum INTEGER PRIMARY KEY, blob BLOB), one
// header blob a row. The database is deserialized from memory read-only, so SQLite never touches
// the audited root: no lock, no -wal or -shm file, no hot-journal rollback.
#include <sqlite3.h>

#include <memory>

#include "audit/error.h"
#include "audit/sources/rpm.h"

namespace audit::sources {

namespace {

constexpr std::size_t kMaxWarnings = 200;
constexpr int kMaxBlob = 0x0fffffff + 8;
constexpr unsigned kProgressEvery = 10000;  // VM steps between progress checks

[[noreturn]] void bad(const std::string& why) {
    throw UsageError("sqlite: " + why);
}

void warn(std::vector<std::string>& w, std::string msg) {
    if (w.size() < kMaxWarnings)
        w.push_back(std::move(msg));
    else if (w.size() == kMaxWarnings)
        w.push_back("further warnings suppressed");
}

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

}  // namespace

std::vector<RpmRecord> read_rpm_sqlite(std::string image, std::vector<std::string>& warnings) {
    if (image.size() < 100 || image.compare(0, 16, std::string("SQLite format 3\0", 16)) != 0)
        bad("not an SQLite 3 database");
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
        if (sqlite3_column_type(s.get(), 1) != SQLITE_BLOB || hnum <= 0 || hnum > 0xffffffffLL) {
            warn(warnings, "row hnum=" + std::to_string(hnum) + " has no header blob, skipped");
            continue;
        }
        auto bytes = static_cast<const char*>(sqlite3_column_blob(s.get(), 1));
        int n = sqlite3_column_bytes(s.get(), 1);
        out.push_back(
            {static_cast<std::uint32_t>(hnum), std::string(bytes ? bytes : "", bytes ? n : 0)});
    }
    if (rc == SQLITE_INTERRUPT) bad("reading took more work than a database of its size needs");
    if (rc != SQLITE_DONE) bad(sqlite3_errmsg(db.get()));
    return out;
}

}  // namespace audit::sources
