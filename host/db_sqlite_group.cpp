// Group commit for SQLite (see db_sqlite_group.hpp for the design and its guarantees).
#include "db_sqlite_group.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

#include "db_sqlite.hpp"

namespace hostsync::db {

namespace {

// A batch is committed early when it holds this many transactions, so a steady stream
// of new transactions cannot keep the first ones waiting.
constexpr int kMaxBatch = 128;

// The outcome of one outer transaction, shared by the transactions it holds.
struct Batch {
    std::int64_t number = 0;
    bool done = false;  // guarded by Group::done_mu
    bool ok = true;
    Error err;
};

// The writer connection of one database file, shared by this process's grouped handles.
struct Group {
    std::unique_ptr<Connection> writer;
    std::mutex tx_mu;            // held by one transaction, from begin to end
    std::atomic<int> queued{0};  // threads waiting for tx_mu
    // Guarded by tx_mu:
    std::shared_ptr<Batch> batch;  // the open outer transaction's, or null
    int batch_size = 0;
    std::int64_t opened = 0;  // batches begun, numbering them
    std::atomic<std::int64_t> batches{0}, transactions{0};  // for group_stats()
    // Waiting for a batch to finish:
    std::mutex done_mu;
    std::condition_variable done_cv;

    void finish(const std::shared_ptr<Batch>& b, bool ok, const Error& err) {
        batches++;
        transactions += batch_size;
        {
            std::lock_guard<std::mutex> lock(done_mu);
            b->done = true;
            b->ok = ok;
            if (!ok) b->err = err;
        }
        done_cv.notify_all();
    }

    void wait(const std::shared_ptr<Batch>& b) {
        std::unique_lock<std::mutex> lock(done_mu);
        done_cv.wait(lock, [&] { return b->done; });
    }

    // tx_mu held. The one fsync of the batch (synchronous=FULL).
    void commit_batch() {
        Result r;
        Error err;
        bool ok = writer->execute("COMMIT", {}, r, err);
        if (!ok) {
            Error ignored;
            writer->execute("ROLLBACK", {}, r, ignored);
        }
        finish(batch, ok, err);
        batch = nullptr;
        batch_size = 0;
    }

    // tx_mu held, about to be released: commit unless another transaction is about to
    // join the batch (the last one in commits for all), bounded by size and age.
    void leave() {
        if (!batch) return;
        if (queued.load() == 0 || batch_size >= kMaxBatch) commit_batch();
    }

    // tx_mu held. SQLite itself ended the outer transaction (an I/O error, a full disk):
    // the work of every transaction in the batch is gone.
    void lost_batch(const std::string& why) {
        Error err;
        err.message = writer->display_url() + ": the group commit batch was rolled back by SQLite" +
                      (why.empty() ? "" : ": " + why);
        finish(batch, false, err);
        batch = nullptr;
        batch_size = 0;
    }
};

// The Group of a file path, shared while any grouped handle of it is open.
std::shared_ptr<Group> group_for(const std::string& path, const std::string& url, const OpenOptions& opts,
                                 Error& err) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Group>> groups;
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = groups.begin(); it != groups.end();) it = it->second.expired() ? groups.erase(it) : std::next(it);
    if (auto g = groups[path].lock()) return g;
    auto writer = open_sqlite(url, opts, err);
    if (!writer) return nullptr;
    auto g = std::make_shared<Group>();
    g->writer = std::move(writer);
    groups[path] = g;
    return g;
}

// The Group whose transaction this thread is inside, if any: a second handle of the
// same thread starting one would wait for itself.
thread_local Group* tl_inside = nullptr;

bool usage(Error& err, std::string message) {
    err.kind = "usage";
    err.message = "Usage: " + std::move(message);
    return false;
}

class GroupConnection;

// Statements outlive close() (Lua collects them in any order): they reach their handle
// through this slot, which close() empties.
using OwnerSlot = std::shared_ptr<GroupConnection*>;

class GroupStatement : public Statement {
public:
    GroupStatement(OwnerSlot owner, std::string sql) : owner_(std::move(owner)), sql_(std::move(sql)) {}
    bool run(const std::vector<Value>& params, Result& out, Error& err) override;

private:
    OwnerSlot owner_;
    std::string sql_;
};

class GroupConnection : public Connection {
public:
    GroupConnection(std::unique_ptr<Connection> reader, std::shared_ptr<Group> group)
        : reader_(std::move(reader)), group_(std::move(group)), url_(reader_->display_url()),
          self_(std::make_shared<GroupConnection*>(this)) {}
    ~GroupConnection() override { close(); }

    const char* backend() const override { return "sqlite"; }
    const std::string& display_url() const override { return url_; }
    bool grouped() const override { return true; }

    bool begin_grouped(Error& err) override {
        if (!check_open(err)) return false;
        if (held_.owns_lock()) return usage(err, "already inside a transaction on this handle");
        if (tl_inside == group_.get())
            return usage(err, "another handle of this thread is inside a transaction on " + url_);
        group_->queued++;
        std::unique_lock<std::mutex> lock(group_->tx_mu);
        group_->queued--;
        Result r;
        if (!group_->batch) {
            // Takes SQLite's write lock for the batch (other processes wait on the busy
            // timeout, as they would for any writer).
            if (!group_->writer->execute("BEGIN IMMEDIATE", {}, r, err)) return false;
            group_->batch = std::make_shared<Batch>();
            group_->batch->number = ++group_->opened;
            group_->batch_size = 0;
        }
        if (!group_->writer->execute("SAVEPOINT hostsync_grouped", {}, r, err)) {
            group_->leave();
            return false;
        }
        held_ = std::move(lock);
        tl_inside = group_.get();
        return true;
    }

    bool end_grouped(bool commit, Error& err) override {
        if (!held_.owns_lock()) return usage(err, "not inside a transaction on this handle");
        Result r;
        Error release_err;
        bool released = commit && group_->writer->execute("RELEASE hostsync_grouped", {}, r, release_err);
        if (!released) {
            Error ignored;
            group_->writer->execute("ROLLBACK TO hostsync_grouped", {}, r, ignored);
            group_->writer->execute("RELEASE hostsync_grouped", {}, r, ignored);
        }
        std::shared_ptr<Batch> mine = group_->batch;
        if (mine) group_->batch_size++;
        if (mine && !sqlite_in_transaction(*group_->writer)) group_->lost_batch(release_err.message);
        if (mine) last_batch_ = mine->number;
        group_->leave();
        held_.unlock();
        tl_inside = nullptr;
        // Even a rolled-back transaction may have read others' work of this batch: it
        // returns (and its caller answers) only once that work is durable.
        if (mine) group_->wait(mine);
        if (!commit) return true;
        if (!released) {
            err = release_err;
            return false;
        }
        if (mine && !mine->ok) {
            err = mine->err;
            return false;
        }
        return true;
    }

    bool execute(const std::string& sql, const std::vector<Value>& params, Result& out, Error& err) override {
        if (!check_open(err)) return false;
        if (held_.owns_lock()) return group_->writer->execute(sql, params, out, err);
        // Outside a transaction: a read runs on this handle's own connection, which sees
        // committed (so durable) data only; anything else is a transaction of its own.
        if (sqlite_is_read(*reader_, sql)) return reader_->execute(sql, params, out, err);
        if (!begin_grouped(err)) return false;
        bool ok = group_->writer->execute(sql, params, out, err);
        Error end_err;
        if (!end_grouped(ok, end_err) && ok) {
            err = end_err;
            return false;
        }
        return ok;
    }

    // A statement of a grouped handle is its SQL, run through execute(): inside a
    // transaction on the writer, outside it as a read on this handle's connection or a
    // write in a transaction of its own. Both connections keep the prepared form of the
    // SQL (db_sqlite.cpp), so it is still prepared once.
    std::unique_ptr<Statement> prepare(const std::string& sql, Error& err) override {
        if (!check_open(err)) return nullptr;
        // Checked where it would run now, so a table created in this transaction counts.
        Connection& where = held_.owns_lock() ? *group_->writer : *reader_;
        if (!where.prepare(sql, err)) return nullptr;
        return std::make_unique<GroupStatement>(self_, sql);
    }

    GroupStats group_stats() const override {
        GroupStats s;
        s.queued = group_->queued.load();
        s.batches = group_->batches.load();
        s.transactions = group_->transactions.load();
        s.last_batch = last_batch_;
        return s;
    }

    bool wait_notification(double timeout_s, std::optional<Notification>& out, Error& err) override {
        return reader_->wait_notification(timeout_s, out, err);
    }

    // The copy reads through this handle's own connection: committed, hence durable, data.
    bool backup(const std::string& dest_path, Error& err) override { return reader_->backup(dest_path, err); }

    void close() override {
        if (closed_) return;
        if (held_.owns_lock()) {
            Error ignored;
            end_grouped(false, ignored);
        }
        reader_->close();
        *self_ = nullptr;
        closed_ = true;
    }

private:
    bool check_open(Error& err) {
        if (!closed_) return true;
        return usage(err, "database " + url_ + " is closed");
    }

    std::unique_ptr<Connection> reader_;
    std::shared_ptr<Group> group_;
    std::string url_;
    std::unique_lock<std::mutex> held_;  // owns Group::tx_mu while inside a transaction
    std::int64_t last_batch_ = 0;
    OwnerSlot self_;
    bool closed_ = false;
};

bool GroupStatement::run(const std::vector<Value>& params, Result& out, Error& err) {
    if (*owner_ == nullptr) return usage(err, "statement used after its database was closed");
    return (*owner_)->execute(sql_, params, out, err);
}

}  // namespace

std::unique_ptr<Connection> open_sqlite_grouped(const std::string& url, const OpenOptions& opts, Error& err) {
    auto reader = open_sqlite(url, opts, err);
    if (!reader) return nullptr;
    std::string path = sqlite_file_path(*reader);
    if (path.empty()) {
        usage(err, "db.open: group_commit needs a database file (" + reader->display_url() + " is in memory)");
        return nullptr;
    }
    auto group = group_for(path, url, opts, err);
    if (!group) return nullptr;
    return std::make_unique<GroupConnection>(std::move(reader), std::move(group));
}

}  // namespace hostsync::db
