#pragma once
// The SQLite backend of db.hpp (libsqlite3): WAL, busy timeout, foreign keys, FULL sync.
#include "db.hpp"

namespace hostsync::db {

std::unique_ptr<Connection> open_sqlite(const std::string& url, const OpenOptions& opts, Error& err);

}  // namespace hostsync::db
