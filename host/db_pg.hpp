#pragma once
// The PostgreSQL backend of db.hpp (libpq): `postgres://` URLs, text-format results
// converted by column type, LISTEN/NOTIFY.
#include "db.hpp"

namespace hostsync::db {

// opts.read_only: every transaction of the session is read-only (default_transaction_read_only).
std::unique_ptr<Connection> open_postgres(const std::string& url, const OpenOptions& opts, Error& err);

}  // namespace hostsync::db
