// The SQLite the tools link (cmake/build-sqlite.sh): built lean from Debian's source package, and
// still able to run every kind of SQL the ledger and the tests use.
#include <sqlite3.h>

#include <catch_amalgamated.hpp>
#include <string>

namespace sqlite_build_test_cases {  // one namespace per test file: unity builds compile several as
                                     // one

namespace {

struct MemoryDb {
    sqlite3* db = nullptr;
    MemoryDb() { REQUIRE(sqlite3_open(":memory:", &db) == SQLITE_OK); }
    ~MemoryDb() { sqlite3_close(db); }
    int exec(const std::string& sql) {
        return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    }
    std::string one(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        std::string out;
        if (sqlite3_step(st) == SQLITE_ROW) {
            const auto* p = sqlite3_column_text(st, 0);
            out = p ? reinterpret_cast<const char*>(p) : "NULL";
        }
        sqlite3_finalize(st);
        return out;
    }
};

}  // namespace

TEST_CASE("SQLite: the lean build is the one linked", "[sqlite]") {
    // Debian's libsqlite3.a has these modules, and loadable extensions (dlopen in a static tool).
    for (const char* left_out : {"ENABLE_FTS3", "ENABLE_FTS4", "ENABLE_FTS5", "ENABLE_RTREE",
                                 "ENABLE_SESSION", "ENABLE_MATH_FUNCTIONS"})
        CHECK(sqlite3_compileoption_used(left_out) == 0);
    // (sqlite3_compileoption_used lists only some of the OMIT options.)
    for (const char* omitted : {"OMIT_LOAD_EXTENSION", "OMIT_JSON", "OMIT_EXPLAIN",
                                "OMIT_DEPRECATED", "OMIT_SHARED_CACHE"})
        CHECK(sqlite3_compileoption_used(omitted) == 1);
    CHECK(std::string(sqlite3_libversion()) == SQLITE_VERSION);  // header and library agree
}

TEST_CASE("SQLite: what the ledger's SQL needs is kept", "[sqlite]") {
    MemoryDb m;
    // Schema: WITHOUT ROWID, UNIQUE, CHECK, defaults, foreign keys (enforced through SQLite's
    // trigger machinery), indexes, views with CASE, subqueries, LEFT JOIN and GROUP BY.
    REQUIRE(m.exec("PRAGMA foreign_keys = ON; PRAGMA cache_size = -1024; PRAGMA temp_store = "
                   "MEMORY; PRAGMA application_id = 1094992967; PRAGMA user_version = 4") ==
            SQLITE_OK);
    REQUIRE(m.exec("CREATE TABLE h(k TEXT PRIMARY KEY, n TEXT NOT NULL, last TEXT NOT NULL) "
                   "WITHOUT ROWID;"
                   "CREATE TABLE b(id INTEGER PRIMARY KEY, k TEXT NOT NULL REFERENCES h(k), "
                   "sha TEXT NOT NULL UNIQUE, z BLOB, one INTEGER CHECK (one = 1));"
                   "CREATE INDEX b_k ON b(k, id);"
                   "CREATE VIEW v AS SELECT h.k AS k, count(*) AS c, CASE WHEN max(b.id) IS NULL "
                   "THEN 'none' ELSE 'some ' || max(b.id) END AS s FROM h LEFT JOIN (SELECT "
                   "DISTINCT id, k FROM b WHERE id IN (SELECT id FROM b)) b ON b.k = h.k "
                   "GROUP BY h.k;") == SQLITE_OK);
    CHECK(m.exec("INSERT INTO b VALUES (NULL, 'nohost', 'x', NULL, 1)") ==
          SQLITE_CONSTRAINT);  // the foreign key holds
    // Upsert, INSERT OR IGNORE/REPLACE, blob literals.
    const char* upsert =
        "INSERT INTO h VALUES ('a', 'one', '1') ON CONFLICT(k) DO UPDATE SET last = excluded.last";
    REQUIRE(m.exec(upsert) == SQLITE_OK);
    REQUIRE(m.exec("INSERT INTO h VALUES ('a', 'one', '2') ON CONFLICT(k) DO UPDATE SET last = "
                   "excluded.last") == SQLITE_OK);
    CHECK(m.one("SELECT last FROM h WHERE k = 'a'") == "2");
    REQUIRE(m.exec("INSERT OR IGNORE INTO b VALUES (NULL, 'a', 'x', x'00ff', 1);"
                   "INSERT OR IGNORE INTO b VALUES (NULL, 'a', 'x', x'00ff', 1);"
                   "INSERT OR REPLACE INTO h VALUES ('c', 'three', '3')") == SQLITE_OK);
    CHECK(m.exec("INSERT INTO b VALUES (NULL, 'a', 'y', NULL, 2)") == SQLITE_CONSTRAINT);
    CHECK(m.one("SELECT s FROM v WHERE k = 'a'") == "some 1");
    CHECK(m.one("SELECT count(*) FROM b WHERE sha NOT IN (SELECT sha FROM b WHERE id > 1)") == "1");
    // Migrations: ALTER TABLE ADD COLUMN, and pragma_table_info (a table-valued function: it
    // needs virtual tables).
    REQUIRE(m.exec("ALTER TABLE b ADD COLUMN dict INTEGER REFERENCES h(k)") == SQLITE_OK);
    CHECK(m.one("SELECT 1 FROM pragma_table_info('b') WHERE name = 'dict'") == "1");
    CHECK(m.one("PRAGMA user_version") == "4");
    CHECK(m.one("SELECT (SELECT count(*) FROM h) + (SELECT count(*) FROM b)") == "3");
    // Transactions as the ledger takes them.
    REQUIRE(m.exec("BEGIN IMMEDIATE; DELETE FROM b; ROLLBACK") == SQLITE_OK);
    CHECK(m.one("SELECT count(*) FROM b") == "1");
    // The tests' fixtures: UTF-16 databases, auto-vacuum, page sizes (rpm_test.cpp).
    MemoryDb u;
    REQUIRE(u.exec("PRAGMA encoding = 'UTF-16le'; PRAGMA auto_vacuum = FULL; PRAGMA page_size = "
                   "512; CREATE TABLE t(x)") == SQLITE_OK);
    CHECK(u.one("PRAGMA encoding") == "UTF-16le");
}

}  // namespace sqlite_build_test_cases
