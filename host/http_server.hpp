#pragma once
// The HTTP server under hostsync.http: cpp-httplib underneath, a fixed pool of worker
// threads each owning one Worker (for Lua: one lua_State per thread, never shared),
// request body limits, JSON error pages, server-sent event streams and graceful shutdown
// on SIGTERM/SIGINT. Knows nothing about Lua; see http_lua_worker.hpp for that side.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// What an open event stream sees of its connection.
class Stream {
public:
    virtual ~Stream() = default;
    // Writes bytes to the client; false once the client is gone or the server stops.
    virtual bool write(std::string_view bytes) = 0;
    // Sleeps up to `seconds`; false (early) when the server is shutting down.
    virtual bool wait(double seconds) = 0;
};

struct ServerResponse {
    int status = 200;
    HeaderList headers;
    std::string body;
    // Set for a stream: runs on the worker thread after the head is sent (chunked
    // text/event-stream) and keeps that thread until it returns.
    std::function<void(Stream&)> stream;
};

// One per worker thread; admit() and handle() are only ever called from that thread.
class Worker {
public:
    virtual ~Worker() = default;
    // Called with the request line and headers (`head.body` is empty) before the body is
    // read: false refuses the request with `res` (e.g. 401), and the body is then read
    // only to be discarded, never kept or parsed. So an unauthenticated client cannot
    // make the server buffer a body or learn its size limit.
    virtual bool admit(const ServerRequest& head, ServerResponse& res) {
        (void)head;
        (void)res;
        return true;
    }
    // The admitted request with its body.
    virtual void handle(const ServerRequest& req, ServerResponse& res) = 0;
};

struct ServerOptions {
    std::string address = "127.0.0.1";
    int port = 0;                     // 0: the kernel picks a free port
    int threads = 8;                  // workers = concurrent requests + open streams
    std::size_t max_body = 1 << 20;   // larger request bodies (after decoding) get 413
    double read_timeout = 10;         // seconds to wait for a client's request bytes
    double grace = 10;                // seconds in-flight requests get after SIGTERM
    std::string tls_cert, tls_key;    // both set: HTTPS
};

// Builds worker `index` in the calling thread (so a broken script fails before listening).
using WorkerFactory = std::function<std::unique_ptr<Worker>(int index, std::string& error)>;

// Binds, prints "listening on http(s)://ADDR:PORT" to stderr, serves until SIGTERM or
// SIGINT, then stops accepting, lets in-flight requests finish (up to `grace`; past it
// the process exits with status 1 after saying so), ends streams and returns true.
// false with `error` if the workers, TLS files or the address could not be set up.
bool serve(const ServerOptions& opts, const WorkerFactory& make_worker, std::string& error);

}  // namespace hostsync::http
