// Backend dispatch for db::open: the URL's scheme decides.
#include "db.hpp"

#include "db_pg.hpp"
#include "db_sqlite.hpp"
#include "db_sqlite_group.hpp"
#include "db_url.hpp"

namespace hostsync::db {

namespace {
bool not_grouped(Error& err) {
    err.kind = "usage";
    err.message = "Usage: this database handle was not opened with group_commit";
    return false;
}
}  // namespace

bool Connection::begin_grouped(Error& err) { return not_grouped(err); }
bool Connection::end_grouped(bool, Error& err) { return not_grouped(err); }

std::unique_ptr<Connection> open(const std::string& url, const OpenOptions& opts, Error& err) {
    if (is_postgres_url(url)) return open_postgres(url, err);
    if (opts.group_commit) return open_sqlite_grouped(url, opts, err);
    return open_sqlite(url, opts, err);
}

}  // namespace hostsync::db
