#pragma once
// The PostgreSQL backend of db.hpp (libpq): `postgres://` URLs, text-format results
// converted by column type, LISTEN/NOTIFY.
#include "db.hpp"

namespace hostsync::db {

std::unique_ptr<Connection> open_postgres(const std::string& url, Error& err);

}  // namespace hostsync::db
