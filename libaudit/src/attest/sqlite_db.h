// A thin RAII layer over SQLite for the ledger: one connection, prepared statements, errors as
// audit::IoError naming the database and the statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace audit::attest::sql {

class Db {
  public:
    Db(const std::string& path, bool create);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void exec(const char* sql);
    sqlite3* handle() const { return db_; }
    const std::string& path() const { return path_; }
    [[noreturn]] void fail(const std::string& what) const;

  private:
    sqlite3* db_ = nullptr;
    std::string path_;
};

class Stmt {
  public:
    Stmt(Db& db, const char* sql);
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, std::string_view text);
    Stmt& bind(int i, std::int64_t v);
    Stmt& bind_blob(int i, std::string_view bytes);
    bool step();  // true while a row is available
    void run();   // step to the end, then reset
    void reset();
    std::string text(int col) const;
    std::int64_t integer(int col) const;
    std::string blob(int col) const;
    bool is_null(int col) const;
    int changes() const;

  private:
    Db& db_;
    sqlite3_stmt* st_ = nullptr;
    std::string sql_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK unless commit() was called.
class Transaction {
  public:
    explicit Transaction(Db& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

  private:
    Db& db_;
    bool done_ = false;
};

}  // namespace audit::attest::sql
