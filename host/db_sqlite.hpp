#pragma once
// The SQLite backend of db.hpp (libsqlite3): WAL, busy timeout, foreign keys, FULL sync.
#include "db.hpp"

namespace hostsync::db {

std::unique_ptr<Connection> open_sqlite(const std::string& url, const OpenOptions& opts, Error& err);

// For db_sqlite_group.cpp, on connections made by open_sqlite: whether `sql` is one
// statement that only reads (sqlite3_stmt_readonly), whether a transaction is open (not
// autocommit), and the database file's absolute path ("" for :memory:).
bool sqlite_is_read(Connection& conn, const std::string& sql);
bool sqlite_in_transaction(Connection& conn);
std::string sqlite_file_path(Connection& conn);

}  // namespace hostsync::db
