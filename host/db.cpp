// Backend dispatch for db::open: the URL's scheme decides.
#include "db.hpp"

#include "db_pg.hpp"
#include "db_sqlite.hpp"
#include "db_url.hpp"

namespace hostsync::db {

std::unique_ptr<Connection> open(const std::string& url, const OpenOptions& opts, Error& err) {
    if (is_postgres_url(url)) return open_postgres(url, err);
    return open_sqlite(url, opts, err);
}

}  // namespace hostsync::db
