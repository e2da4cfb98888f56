#pragma once
// The HTTP server under hostsync.http: libmicrohttpd's event loop owns every connection
// (parsing, keep-alive, TLS, idle connections and open event streams), and a fixed pool
// of worker threads, each owning one Worker (for Lua: one lua_State per thread, never
// shared), runs the handlers. A request holds a worker only while its handler runs; an
// idle keep-alive connection or an event stream subscribed to a topic (event_hub.hpp)
// holds none. Request body limits, JSON error pages, graceful shutdown on SIGTERM/SIGINT.
// Knows nothing about Lua; see http_lua_worker.hpp for that side. Why libmicrohttpd:
// docs/architecture.md, "The HTTP server".
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event_hub.hpp"

namespace hostsync::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ServerRequest {
    std::string method;
    std::string path;         // decoded path, without the query
    HeaderList query;         // decoded query parameters, in order
    HeaderList headers;       // names lower-cased
    std::string body;
    std::string remote_addr;  // "ip:port"
};

// Sleeps up to `seconds`; false (early) when the server is shutting down.
class Waiter {
public:
    virtual ~Waiter() = default;
    virtual bool wait(double seconds) = 0;
};

// What a stream function sees of its connection.
class Stream : public Waiter {
public:
    // Queues bytes for the client; false once the client is gone or the server stops.
    virtual bool write(std::string_view bytes) = 0;
};

struct ServerResponse {
    int status = 200;
    HeaderList headers;
    std::string body;
    // A stream function: runs on the worker thread once the handler returned, and keeps
    // that worker until it returns (chunked text/event-stream).
    std::function<void(Stream&)> stream;
    // A subscription to a topic of the event hub: the event loop holds the connection
    // and no worker is kept (chunked text/event-stream).
    std::optional<events::Subscription> subscription;
};

// One per worker thread; admit() and handle() are only ever called from that thread.
class Worker {
public:
    virtual ~Worker() = default;
    // Called with the request line and headers (`head.body` is empty) before the body is
    // read: false refuses the request with `res` (e.g. 401), and the body is then read
    // only to be discarded, never kept, decoded or parsed. So an unauthenticated client
    // cannot make the server keep a body or learn its size limit. handle() follows on the
    // same thread right after admit() returned true; a request with a body over 64 KiB
    // (or chunked, or encoded) is admitted once before its body is read, on any worker,
    // and again just before handle().
    virtual bool admit(const ServerRequest& head, ServerResponse& res) {
        (void)head;
        (void)res;
        return true;
    }
    // The admitted request with its body.
    virtual void handle(const ServerRequest& req, ServerResponse& res) = 0;
    // The app's background task, if it has one (false at once if not): runs on a thread
    // of its own, on a Worker built for it, until it returns or `life` says the server
    // stops. Raising (returning "failed") makes the server log it and start it again.
    enum class Background { none, done, failed };
    virtual Background run_background(Waiter& life) {
        (void)life;
        return Background::none;
    }
};

struct ServerOptions {
    std::string address = "127.0.0.1";
    int port = 0;                     // 0: the kernel picks a free port
    int threads = 8;                  // workers = handlers running at once
    std::size_t max_body = 1 << 20;   // larger request bodies (after decoding) get 413
    double read_timeout = 10;         // seconds a client may stay silent while sending a request
    double idle_timeout = 60;         // seconds an idle keep-alive connection is kept
    double grace = 10;                // seconds in-flight requests get after SIGTERM
    double stream_ping = 15;          // seconds: an idle event stream gets a ": ping" comment
    std::string tls_cert, tls_key;    // both set: HTTPS
};

// Builds worker `index` in the calling thread (so a broken script fails before listening).
// Index `threads` is the background task's worker.
using WorkerFactory = std::function<std::unique_ptr<Worker>(int index, std::string& error)>;

// Binds, prints "listening on http(s)://ADDR:PORT" to stderr, serves until SIGTERM or
// SIGINT, then stops accepting, ends event streams, lets in-flight requests finish (up to
// `grace`; past it the process exits with status 1 after saying so) and returns true.
// false with `error` if the workers, TLS files or the address could not be set up.
bool serve(const ServerOptions& opts, const WorkerFactory& make_worker, std::string& error);

}  // namespace hostsync::http
