// PostgreSQL backend on libpq. Parameters go as text with their types left to the server
// (as if each were a quoted literal), except blobs, which go as binary bytea; results
// come back as text and are converted by column type (see docs/api/db.md's table).
#include "db_pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "db_url.hpp"
#include "libpq_dyn.hpp"  // after libpq-fe.h: PQ* names call the dlopen'd library

namespace hostsync::db {

namespace {

// Type OIDs from pg_type.h (stable across versions; the header is server-side only).
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26,
              kFloat4 = 700, kFloat8 = 701, kNumeric = 1700;

struct Shared {
    PGconn* conn = nullptr;
    std::string name;  // URL without password
    int next_statement = 0;
    std::vector<std::string> to_deallocate;  // statements freed while a transaction ran
};

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server
// running...?\n"); ours are one line, so they fit a log line or a `nil, err`.
std::string one_line(const std::string& s) {
    std::string out;
    for (char c : s) {
        bool space = c == '\n' || c == '\t' || c == ' ';
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

Error connection_error(const Shared& sh) {
    Error e;
    e.kind = "connection";
    e.code = "08000";
    e.message = sh.name + ": " + one_line(sh.conn ? PQerrorMessage(sh.conn) : "not connected");
    return e;
}

Error result_error(const Shared& sh, const PGresult* res) {
    if (!res || PQstatus(sh.conn) == CONNECTION_BAD) return connection_error(sh);
    Error e;
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    e.code = state ? state : "";
    e.message = sh.name + ": " + (primary ? std::string(primary) : one_line(PQresultErrorMessage(res)));
    if (detail) e.message += std::string(": ") + detail;
    if (state) e.message += std::string(" (SQLSTATE ") + state + ")";
    if (e.code.rfind("23", 0) == 0) e.kind = "constraint";
    else if (e.code == "40001" || e.code == "40P01" || e.code == "55P03") e.kind = "busy";
    else if (e.code == "42601") e.kind = "syntax";
    else if (e.code.rfind("08", 0) == 0) e.kind = "connection";
    return e;
}

std::string hex_decode_bytea(const char* s, size_t n) {
    // Text-format bytea is "\x" followed by hex (the default bytea_output since 9.0);
    // anything else is handed to libpq's unescaper for the old escape format.
    if (n >= 2 && s[0] == '\\' && s[1] == 'x') {
        std::string out;
        out.reserve((n - 2) / 2);
        auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
        for (size_t i = 2; i + 1 < n; i += 2) out += static_cast<char>(nib(s[i]) << 4 | nib(s[i + 1]));
        return out;
    }
    size_t len = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(s), &len);
    std::string out(reinterpret_cast<char*>(raw), len);
    PQfreemem(raw);
    return out;
}

Value field_value(const PGresult* res, int r, int c) {
    if (PQgetisnull(res, r, c)) return Null{};
    const char* s = PQgetvalue(res, r, c);
    size_t n = static_cast<size_t>(PQgetlength(res, r, c));
    switch (PQftype(res, c)) {
        case kBool: return s[0] == 't';
        case kInt2:
        case kInt4:
        case kInt8:
        case kOid: {
            errno = 0;
            long long v = std::strtoll(s, nullptr, 10);
            if (errno == ERANGE) return BigInt{std::string(s, n)};
            return static_cast<std::int64_t>(v);
        }
        case kFloat4:
        case kFloat8:
        case kNumeric: return std::strtod(s, nullptr);  // "NaN", "Infinity" parse too
        case kBytea: return Blob{hex_decode_bytea(s, n)};
        default: return std::string(s, n);
    }
}

bool collect(Shared& sh, PGresult* res, Result& out, Error& err) {
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        err = result_error(sh, res);
        PQclear(res);
        return false;
    }
    out = Result{};
    int ncol = PQnfields(res), nrow = PQntuples(res);
    for (int c = 0; c < ncol; ++c) out.columns.emplace_back(PQfname(res, c));
    out.rows.reserve(nrow);
    for (int r = 0; r < nrow; ++r) {
        std::vector<Value> row;
        row.reserve(ncol);
        for (int c = 0; c < ncol; ++c) row.push_back(field_value(res, r, c));
        out.rows.push_back(std::move(row));
    }
    out.changes = std::atoll(PQcmdTuples(res));
    PQclear(res);
    return true;
}

// Parameter arrays for PQexecParams/PQexecPrepared; `text` keeps the converted strings
// alive for the call.
struct Params {
    std::vector<std::string> text;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    std::vector<Oid> types;

    explicit Params(const std::vector<Value>& params) {
        size_t n = params.size();
        text.resize(n);
        values.assign(n, nullptr);
        lengths.assign(n, 0);
        formats.assign(n, 0);
        types.assign(n, 0);  // 0: the server infers the type from the context
        for (size_t i = 0; i < n; ++i) {
            const Value& v = params[i];
            if (std::holds_alternative<Null>(v)) continue;
            if (auto* b = std::get_if<bool>(&v)) text[i] = *b ? "1" : "0";  // as in SQLite
            else if (auto* k = std::get_if<std::int64_t>(&v)) text[i] = std::to_string(*k);
            else if (auto* d = std::get_if<double>(&v)) {
                if (std::isnan(*d)) text[i] = "NaN";
                else if (std::isinf(*d)) text[i] = *d > 0 ? "Infinity" : "-Infinity";
                else {
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%.17g", *d);
                    text[i] = buf;
                }
            } else if (auto* s = std::get_if<std::string>(&v)) text[i] = *s;
            else if (auto* bi = std::get_if<BigInt>(&v)) text[i] = bi->digits;
            else if (auto* bl = std::get_if<Blob>(&v)) {
                text[i] = bl->bytes;
                formats[i] = 1;
                types[i] = kBytea;
            }
            values[i] = text[i].c_str();
            lengths[i] = static_cast<int>(text[i].size());
        }
    }
};

bool usage(Error& err, std::string msg) {
    err = Error{};
    err.kind = "usage";
    err.message = "Usage: " + std::move(msg);
    return false;
}

bool check_count(int want, size_t got, Error& err) {
    if (want == static_cast<int>(got)) return true;
    return usage(err, "the SQL has " + std::to_string(want) + " parameter(s), got " + std::to_string(got));
}

// Frees prepared statements whose Lua objects were collected; only outside a
// transaction, so a DEALLOCATE can never be the statement that aborts one.
void flush_deallocations(Shared& sh) {
    if (sh.to_deallocate.empty() || !sh.conn || PQtransactionStatus(sh.conn) != PQTRANS_IDLE) return;
    for (auto& name : sh.to_deallocate) PQclear(PQexec(sh.conn, ("DEALLOCATE " + name).c_str()));
    sh.to_deallocate.clear();
}

struct PgStatement : Statement {
    std::shared_ptr<Shared> sh;
    std::string name;
    int nparams;

    PgStatement(std::shared_ptr<Shared> s, std::string n, int k) : sh(std::move(s)), name(std::move(n)), nparams(k) {}
    ~PgStatement() override {
        if (sh->conn) sh->to_deallocate.push_back(name);
    }
    bool run(const std::vector<Value>& params, Result& out, Error& err) override {
        if (!sh->conn) return usage(err, "statement used after its database was closed");
        if (!check_count(nparams, params.size(), err)) return false;
        Params p(params);
        PGresult* res = PQexecPrepared(sh->conn, name.c_str(), nparams, p.values.data(), p.lengths.data(), p.formats.data(), 0);
        return collect(*sh, res, out, err);
    }
};

class PgConnection : public Connection {
public:
    explicit PgConnection(std::shared_ptr<Shared> s) : sh_(std::move(s)) {}
    ~PgConnection() override { close(); }

    const char* backend() const override { return "postgres"; }
    const std::string& display_url() const override { return sh_->name; }

    bool execute(const std::string& sql, const std::vector<Value>& params, Result& out, Error& err) override {
        if (!sh_->conn) return usage(err, "database " + sh_->name + " is closed");
        flush_deallocations(*sh_);
        int count = 0;
        std::string translated = translate_placeholders(sql, count);
        if (!check_count(count, params.size(), err)) return false;
        PGresult* res;
        if (params.empty()) {
            // The simple protocol: several statements separated by ';' are allowed.
            res = PQexec(sh_->conn, translated.c_str());
        } else {
            Params p(params);
            res = PQexecParams(sh_->conn, translated.c_str(), count, p.types.data(), p.values.data(), p.lengths.data(), p.formats.data(), 0);
        }
        return collect(*sh_, res, out, err);
    }

    std::unique_ptr<Statement> prepare(const std::string& sql, Error& err) override {
        if (!sh_->conn) {
            usage(err, "database " + sh_->name + " is closed");
            return nullptr;
        }
        flush_deallocations(*sh_);
        int count = 0;
        std::string translated = translate_placeholders(sql, count);
        std::string name = "hostsync_" + std::to_string(++sh_->next_statement);
        // No declared types: the server infers each from its context, as for exec. A
        // blob is later sent in binary format, which for a bytea is its raw bytes.
        PGresult* res = PQprepare(sh_->conn, name.c_str(), translated.c_str(), count, nullptr);
        Result ignored;
        if (!collect(*sh_, res, ignored, err)) return nullptr;
        return std::make_unique<PgStatement>(sh_, name, count);
    }

    bool wait_notification(double timeout_s, std::optional<Notification>& out, Error& err) override {
        if (!sh_->conn) return usage(err, "database " + sh_->name + " is closed");
        out.reset();
        auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
        for (;;) {
            // PQnotifies only looks at input already read, so consume first, every time.
            if (!PQconsumeInput(sh_->conn)) {
                err = connection_error(*sh_);
                return false;
            }
            if (PGnotify* n = PQnotifies(sh_->conn)) {
                out = Notification{n->relname, n->extra ? n->extra : "", n->be_pid};
                PQfreemem(n);
                return true;
            }
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
            if (left <= 0) return true;
            pollfd pfd{PQsocket(sh_->conn), POLLIN, 0};
            int rc = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000 * 1000)));
            if (rc < 0 && errno != EINTR) {
                err.kind = "connection";
                err.message = sh_->name + ": poll: " + std::strerror(errno);
                return false;
            }
        }
    }

    void close() override {
        if (!sh_->conn) return;
        PQfinish(sh_->conn);
        sh_->conn = nullptr;
    }

private:
    std::shared_ptr<Shared> sh_;
};

void ignore_notice(void*, const char*) {}

}  // namespace

std::unique_ptr<Connection> open_postgres(const std::string& url, const OpenOptions& opts, Error& err) {
    if (std::string why; !libpq::load(why)) {
        err.message = redact_url(url) + ": " + why;
        err.kind = "connection";
        return nullptr;
    }
    auto sh = std::make_shared<Shared>();
    sh->name = redact_url(url);
    sh->conn = PQconnectdb(url.c_str());
    if (!sh->conn || PQstatus(sh->conn) != CONNECTION_OK) {
        err = connection_error(*sh);
        err.message = scrub_secrets(err.message, url);
        if (sh->conn) PQfinish(sh->conn);
        sh->conn = nullptr;
        return nullptr;
    }
    // Notices ("relation already exists, skipping") would go to stderr by default.
    PQsetNoticeProcessor(sh->conn, ignore_notice, nullptr);
    if (PQsetClientEncoding(sh->conn, "UTF8") != 0) {
        err = connection_error(*sh);
        return nullptr;
    }
    auto conn = std::make_unique<PgConnection>(sh);
    if (opts.read_only) {
        Result r;
        if (!conn->execute("SET default_transaction_read_only = on", {}, r, err)) return nullptr;
    }
    return conn;
}

}  // namespace hostsync::db
