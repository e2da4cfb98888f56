#pragma once
// The HTTP client under hostsync.http: one request with retries and backoff, and a
// streaming GET for server-sent events. cpp-httplib stays inside http_client.cpp.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hostsync::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
    double timeout = 30;          // seconds, for connect and for each read and write
    int retries = 0;              // extra attempts after the first
    double backoff = 0.2;         // first retry delay, doubled each time (with jitter)
    double max_backoff = 10;      // cap on one delay
    double max_retry_after = 30;  // a 429/503 asking for longer is returned, not waited
    std::string ca_file;          // PEM bundle to trust instead of the system's
    bool verify = true;           // TLS certificate and host name verification
    bool replay_safe = false;     // a broken exchange may be retried whatever the method
};

struct ClientRequest {
    std::string method = "GET";
    std::string url;
    HeaderList headers;
    std::string body;
};

struct ClientResponse {
    int status = 0;
    HeaderList headers;  // as received, names as the server spelled them
    std::string body;
    int attempts = 0;
};

// false with `error` naming the peer ("connect 127.0.0.1:8080: Connection refused") when
// no response was obtained. A response with any status, even after exhausted retries, is
// true: the status is the caller's to judge.
// `req` is taken by value: a large body is moved, not copied, into the request.
bool request(ClientRequest req, const ClientOptions& opts, ClientResponse& out,
             std::string& error);

// One streaming GET. on_head sees the status and headers (return false to stop before the
// body); on_chunk sees body bytes as they arrive (return false to stop). Returns false
// with `error` set if the connection failed or broke; true when the body ended or a
// callback stopped it (`stopped` tells which).
struct StreamHandlers {
    std::function<bool(int status, const HeaderList& headers)> on_head;
    std::function<bool(const char* data, std::size_t n)> on_chunk;
};
bool stream_get(const std::string& url, const HeaderList& headers, const ClientOptions& opts,
                const StreamHandlers& handlers, bool& stopped, std::string& error);

}  // namespace hostsync::http
