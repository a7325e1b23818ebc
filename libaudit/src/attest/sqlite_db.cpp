#include "attest/sqlite_db.h"

#include "audit/error.h"

namespace audit::attest::sql {

Db::Db(const std::string& path, bool create) : path_(path) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw IoError("cannot open ledger " + path + ": " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    // Another process importing at the same time waits instead of failing at once.
    sqlite3_busy_timeout(db_, 30000);
}

Db::~Db() {
    sqlite3_close(db_);
}

void Db::fail(const std::string& what) const {
    throw IoError("ledger " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void Db::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        throw IoError("ledger " + path_ + ": " + msg);
    }
}

Stmt::Stmt(Db& db, const char* sql) : db_(db), sql_(sql) {
    if (sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) !=
        SQLITE_OK)
        db.fail("cannot prepare '" + sql_.substr(0, 60) + "'");
}

Stmt::~Stmt() {
    sqlite3_finalize(st_);
}

Stmt& Stmt::bind(int i, std::string_view text) {
    if (sqlite3_bind_text64(st_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) !=
        SQLITE_OK)
        db_.fail("cannot bind");
    return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
    if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) db_.fail("cannot bind");
    return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view bytes) {
    if (sqlite3_bind_blob64(st_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK)
        db_.fail("cannot bind");
    return *this;
}

bool Stmt::step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail("'" + sql_.substr(0, 60) + "' failed");
}

void Stmt::run() {
    while (step()) {
    }
    reset();
}

void Stmt::reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
}

std::string Stmt::text(int col) const {
    const auto* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
}

std::int64_t Stmt::integer(int col) const {
    return sqlite3_column_int64(st_, col);
}

bool Stmt::is_null(int col) const {
    return sqlite3_column_type(st_, col) == SQLITE_NULL;
}

std::string Stmt::blob(int col) const {
    const void* p = sqlite3_column_blob(st_, col);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
}

int Stmt::changes() const {
    return sqlite3_changes(db_.handle());
}

Transaction::Transaction(Db& db) : db_(db) {
    db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace audit::attest::sql
