#include "http_server.hpp"

#include <arpa/inet.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "http_body.hpp"
#include "http_stream.hpp"
#include "http_worker_pool.hpp"

namespace hostsync::http {
namespace {

// Percent-decoding of the path and the query values, except that "%00" stays as written.
// libmicrohttpd hands both on as C strings, so a decoded NUL byte would silently cut them
// ("/view/main.js%00" would arrive as "/view/main.js", "?project=a%00b" as "a"). Left
// encoded, it reaches the app as the text the client sent, which no route knows.
int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t unescape_keeping_nul(void*, MHD_Connection*, char* s) {
    char* out = s;
    for (const char* in = s; *in != '\0';) {
        if (in[0] == '%' && hex_digit(in[1]) >= 0 && hex_digit(in[2]) >= 0) {
            int v = hex_digit(in[1]) * 16 + hex_digit(in[2]);
            if (v != 0) {
                *out++ = static_cast<char>(v);
                in += 3;
                continue;
            }
        }
        *out++ = *in++;
    }
    *out = '\0';
    return static_cast<size_t>(out - s);
}

// SIGTERM/SIGINT only set a flag (all a handler may safely do); the main thread acts on
// it. The previous dispositions come back when serve() returns.
volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

class SignalScope {
public:
    SignalScope() {
        g_signal = 0;
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGTERM, &sa, &old_term_);
        sigaction(SIGINT, &sa, &old_int_);
        // A client that hangs up mid-response must be an error on write, not a dead process.
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &ign, &old_pipe_);
    }
    ~SignalScope() {
        sigaction(SIGTERM, &old_term_, nullptr);
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGPIPE, &old_pipe_, nullptr);
    }
    SignalScope(const SignalScope&) = delete;
    SignalScope& operator=(const SignalScope&) = delete;

private:
    struct sigaction old_term_ {}, old_int_ {}, old_pipe_ {};
};

std::string json_error(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

// libmicrohttpd's timeouts are whole seconds; never 0 (that would mean "none").
unsigned seconds(double s) { return static_cast<unsigned>(std::max(1.0, std::ceil(s))); }

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool has_header(const HeaderList& h, const char* name) {
    for (const auto& [k, _] : h)
        if (lower(k) == name) return true;
    return false;
}

std::string address_text(const sockaddr* sa) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa != nullptr && sa->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa != nullptr && sa->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

// A bound, listening socket for ADDRESS:PORT (the kernel picks the port for 0).
int listen_on(const std::string& address, int port, int& bound_port, bool& v6, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    std::string where = "listen " + address + ":" + std::to_string(port);
    if (getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) {
        error = where + ": cannot resolve the address";
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool ok = fd >= 0 && bind(fd, res->ai_addr, res->ai_addrlen) == 0 && listen(fd, 4096) == 0;
    v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    if (!ok) {
        if (fd >= 0) close(fd);
        error = where + ": cannot bind (in use, or not an address of this machine)";
        return -1;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    bound_port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return fd;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return !out.empty();
}

// Every open event stream hears about this many open files: raise the soft limit to the
// hard one, so a thousand streams do not run into the default 1024.
void raise_open_file_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// A body the server will not keep (a refused request's, one over the limit) is still
// read, and dropped, so the client can read its answer, up to this many bytes; beyond it
// the connection is closed.
constexpr std::size_t kDiscardLimit = 64u << 20;
// A body no larger than this (and within max_body, with a Content-Length, not encoded)
// is read before the app's admit() runs: it is in the connection's buffer anyway. Any
// other body waits for admit(), so a stranger can neither make the server keep or decode
// a body nor learn its size limit.
constexpr std::size_t kSmallBody = 64u << 10;

// One request and its answer: libmicrohttpd's per-request context (*con_cls).
struct Exchange {
    ServerRequest req;                   // body empty until the handler's turn
    std::unique_ptr<RequestBody> body;   // null: the request has none
    bool expect_continue = false;        // the client waits for "100 Continue" before its body
    bool multipart = false;
    bool refused = false;                // admit() said no: `res` holds its answer
    bool close = false;                  // answer with Connection: close
    std::mutex mu;
    // admitting: admit() runs on a worker before the body is read; admitted: its answer
    // is in; receiving: the body arrives; dispatched: a worker runs the handler.
    enum class State { admitting, admitted, receiving, dispatched, answered } state = State::receiving;
    ServerResponse res;                         // set by the worker
    std::shared_ptr<StreamConnection> stream;   // set for event streams
};

class Server {
public:
    Server(const ServerOptions& opts, WorkerPool& pool, Lifecycle& life) : opts_(opts), pool_(pool), life_(life) {}

    static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                                 const char* version, const char* upload, size_t* upload_size, void** con_cls);
    static void on_completed(void* cls, MHD_Connection* c, void** con_cls, MHD_RequestTerminationCode toe);

    void ping_streams();
    void finish_streams();

private:
    MHD_Result start(MHD_Connection* c, const char* url, const char* method, void** con_cls);
    MHD_Result complete(MHD_Connection* c, Exchange* ex, std::unique_lock<std::mutex>& lock);
    void admit(MHD_Connection* c, Exchange* ex);
    void dispatch(MHD_Connection* c, Exchange* ex);
    MHD_Result answer(MHD_Connection* c, Exchange* ex);
    MHD_Result answer_json(MHD_Connection* c, Exchange* ex, int status, const std::string& message);
    void add_stream(const std::shared_ptr<StreamConnection>& s);
    void drop_stream(StreamConnection* s);

    const ServerOptions& opts_;
    WorkerPool& pool_;
    Lifecycle& life_;
    std::mutex streams_mu_;
    std::unordered_map<StreamConnection*, std::weak_ptr<StreamConnection>> streams_;
};

MHD_Result collect(void* cls, MHD_ValueKind, const char* key, const char* value) {
    static_cast<HeaderList*>(cls)->emplace_back(key, value != nullptr ? value : "");
    return MHD_YES;
}

std::string header(MHD_Connection* c, const char* name) {
    const char* v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v != nullptr ? v : "";
}

// A worker's admit() or handle() with any exception turned into a 500 (logged).
template <typename Fn>
bool guarded_call(const ServerRequest& req, ServerResponse& res, Fn fn) {
    try {
        return fn();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hostsync http: %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
        res = ServerResponse{};
        res.status = 500;
        res.headers = {{"Content-Type", "application/json"}};
        res.body = json_error("internal server error");
        return false;
    }
}

MHD_Result Server::start(MHD_Connection* c, const char* url, const char* method, void** con_cls) {
    auto* ex = new Exchange;
    *con_cls = ex;
    life_.in_flight++;
    // Silence is now a slow client in the middle of a request (the body), not an idle
    // keep-alive connection: the shorter bound applies until the response is done.
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, seconds(opts_.read_timeout));
    ex->req.method = method;
    ex->req.path = url;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &ex->req.query);
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &ex->req.headers);
    for (auto& [k, _] : ex->req.headers) k = lower(k);
    const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    ex->req.remote_addr = address_text(ci != nullptr ? ci->client_addr : nullptr);

    std::string length = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    bool chunked = lower(header(c, MHD_HTTP_HEADER_TRANSFER_ENCODING)).find("chunked") != std::string::npos;
    unsigned long long declared = length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10);
    if (!chunked && declared == 0) return MHD_YES;   // no body: complete() comes next
    ex->body = std::make_unique<RequestBody>(opts_.max_body, header(c, MHD_HTTP_HEADER_CONTENT_ENCODING));
    ex->expect_continue = lower(header(c, MHD_HTTP_HEADER_EXPECT)) == "100-continue";
    ex->multipart = lower(header(c, MHD_HTTP_HEADER_CONTENT_TYPE)).rfind("multipart/form-data", 0) == 0;
    if (ex->body->encoded()) ex->close = true;   // an encoded body is never left half-read on a kept connection
    bool small = !chunked && !ex->body->encoded() && declared <= std::min(opts_.max_body, kSmallBody);
    if (small) return MHD_YES;
    // Ask the app before reading the body.
    ex->state = Exchange::State::admitting;
    MHD_suspend_connection(c);
    admit(c, ex);
    return MHD_YES;
}

MHD_Result Server::on_request(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                              const char* upload, size_t* upload_size, void** con_cls) {
    auto* self = static_cast<Server*>(cls);
    auto* ex = static_cast<Exchange*>(*con_cls);
    if (ex == nullptr) return self->start(c, url, method, con_cls);   // headers are in
    if (*upload_size > 0) {
        RequestBody& b = *ex->body;
        b.feed(upload, *upload_size);
        *upload_size = 0;
        // Reading a body only to drop it is worth it up to a point.
        if ((ex->refused || b.problem() != RequestBody::Problem::none) && b.wire_bytes() > kDiscardLimit) return MHD_NO;
        return MHD_YES;
    }
    std::unique_lock<std::mutex> lock(ex->mu);
    switch (ex->state) {
        case Exchange::State::admitting:
        case Exchange::State::dispatched:
            MHD_suspend_connection(c);   // a worker still has it
            return MHD_YES;
        case Exchange::State::admitted:
            // admit() answered; the body is still to come.
            ex->state = Exchange::State::receiving;
            if (ex->refused) {
                // A client waiting for "100 Continue" sends no body: answer now. Others
                // send it anyway; it is read and dropped, then answered.
                if (ex->expect_continue) {
                    lock.unlock();
                    return self->answer(c, ex);
                }
                ex->body->drop();
            }
            return MHD_YES;
        case Exchange::State::receiving:
            return self->complete(c, ex, lock);
        case Exchange::State::answered:
            break;
    }
    lock.unlock();
    return self->answer(c, ex);
}

// The whole request is in: answer what needs no app, or hand it to a worker.
MHD_Result Server::complete(MHD_Connection* c, Exchange* ex, std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    if (ex->refused) return answer(c, ex);
    if (ex->body) {
        RequestBody& b = *ex->body;
        b.finish();
        switch (b.problem()) {
            case RequestBody::Problem::none: break;
            case RequestBody::Problem::too_large:
                return answer_json(c, ex, 413, "request body larger than " + std::to_string(opts_.max_body) + " bytes");
            case RequestBody::Problem::bad_encoding:
                return answer_json(c, ex, 400, "request body does not decode as its Content-Encoding says");
            case RequestBody::Problem::unsupported_encoding:
                return answer_json(c, ex, 415, "unsupported Content-Encoding (gzip and deflate are accepted)");
        }
    }
    lock.lock();
    ex->state = Exchange::State::dispatched;
    MHD_suspend_connection(c);
    lock.unlock();
    dispatch(c, ex);
    return MHD_YES;
}

void Server::admit(MHD_Connection* c, Exchange* ex) {
    pool_.submit([this, c, ex](Worker& w) {
        ServerResponse res;
        bool ok = guarded_call(ex->req, res, [&] { return w.admit(ex->req, res); });
        {
            std::lock_guard<std::mutex> lock(ex->mu);
            ex->refused = !ok;
            if (!ok) ex->res = std::move(res);
            ex->state = Exchange::State::admitted;
        }
        MHD_resume_connection(c);
    });
}

void Server::dispatch(MHD_Connection* c, Exchange* ex) {
    pool_.submit([this, c, ex](Worker& w) {
        // admit() on the head, then handle() on the same worker with the body: what admit
        // learnt about the request (who asks) reaches the handler. A request admitted
        // before its body was read is admitted again here: that first answer may have
        // come from another worker.
        ServerResponse res;
        if (!guarded_call(ex->req, res, [&] { return w.admit(ex->req, res); })) {
            // refused: `res` is the answer; the body is never handed over
        } else if (ex->multipart) {
            res.status = 415;
            res.headers = {{"Content-Type", "application/json"}};
            res.body = json_error("unsupported media type (multipart/form-data is not accepted)");
        } else {
            if (ex->body) ex->req.body = std::move(ex->body->text());
            guarded_call(ex->req, res, [&] {
                w.handle(ex->req, res);
                return true;
            });
        }
        std::shared_ptr<StreamConnection> stream;
        std::function<void(Stream&)> fn = std::move(res.stream);
        if (fn || res.subscription) {
            stream = std::make_shared<StreamConnection>(c, life_);
            add_stream(stream);
            if (res.subscription) {
                stream->topic = res.subscription->topic;
                stream->subscription =
                    events::Hub::instance().subscribe(std::move(*res.subscription), stream);
                res.subscription.reset();
            }
            if (life_.stopping) stream->finish();
        }
        {
            std::lock_guard<std::mutex> lock(ex->mu);
            ex->res = std::move(res);
            ex->stream = stream;
            ex->state = Exchange::State::answered;
        }
        MHD_resume_connection(c);
        // From here on the exchange belongs to the event loop. A stream function keeps
        // this worker, as documented.
        if (fn) {
            fn(*stream);
            stream->finish();
        }
    });
}

ssize_t read_stream(void* cls, uint64_t, char* buf, size_t max) {
    return (*static_cast<std::shared_ptr<StreamConnection>*>(cls))->read(buf, max);
}

void free_stream(void* cls) { delete static_cast<std::shared_ptr<StreamConnection>*>(cls); }

MHD_Result Server::answer(MHD_Connection* c, Exchange* ex) {
    ServerResponse& r = ex->res;
    MHD_Response* resp;
    if (ex->stream) {
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, read_stream,
                                                 new std::shared_ptr<StreamConnection>(ex->stream), free_stream);
        if (!has_header(r.headers, "content-type")) r.headers.emplace_back("Content-Type", "text/event-stream");
        r.headers.emplace_back("Cache-Control", "no-cache");
    } else {
        if (r.body.empty() && r.status >= 400 && !has_header(r.headers, "content-type")) {
            // An error without a body still says what it is, in JSON like every other.
            const char* phrase = MHD_get_reason_phrase_for(static_cast<unsigned>(r.status));
            r.body = json_error(phrase[0] != '\0' ? lower(phrase) : "HTTP " + std::to_string(r.status));
            r.headers.emplace_back("Content-Type", "application/json");
        }
        // The body lives in the exchange until the request is complete.
        resp = MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_PERSISTENT);
        if (!r.body.empty() && !has_header(r.headers, "content-type"))
            r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    }
    if (resp == nullptr) return MHD_NO;
    for (const auto& [k, v] : r.headers) MHD_add_response_header(resp, k.c_str(), v.c_str());
    if (life_.stopping || ex->close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_Result ret = MHD_queue_response(c, static_cast<unsigned>(r.status), resp);
    MHD_destroy_response(resp);
    return ret;
}

MHD_Result Server::answer_json(MHD_Connection* c, Exchange* ex, int status, const std::string& message) {
    ex->res = ServerResponse{};
    ex->res.status = status;
    ex->res.headers = {{"Content-Type", "application/json"}};
    ex->res.body = json_error(message);
    return answer(c, ex);
}

void Server::on_completed(void* cls, MHD_Connection* c, void** con_cls, MHD_RequestTerminationCode toe) {
    auto* self = static_cast<Server*>(cls);
    auto* ex = static_cast<Exchange*>(*con_cls);
    if (ex == nullptr) return;
    // Back to idle: the connection waits for the client's next request. (A connection
    // ending otherwise is being closed: leave it alone.)
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, seconds(self->opts_.idle_timeout));
    if (ex->stream) {
        ex->stream->gone();
        if (ex->stream->subscription != 0)
            events::Hub::instance().unsubscribe(ex->stream->topic, ex->stream->subscription);
        self->drop_stream(ex->stream.get());
    }
    delete ex;
    *con_cls = nullptr;
    self->life_.in_flight--;
}

void Server::add_stream(const std::shared_ptr<StreamConnection>& s) {
    std::lock_guard<std::mutex> lock(streams_mu_);
    streams_.emplace(s.get(), s);
}

void Server::drop_stream(StreamConnection* s) {
    std::lock_guard<std::mutex> lock(streams_mu_);
    streams_.erase(s);
}

void Server::ping_streams() {
    std::vector<std::shared_ptr<StreamConnection>> open;
    {
        std::lock_guard<std::mutex> lock(streams_mu_);
        for (auto& [_, w] : streams_)
            if (auto s = w.lock()) open.push_back(std::move(s));
    }
    auto now = std::chrono::steady_clock::now();
    for (auto& s : open) s->ping_if_idle(now, opts_.stream_ping);
}

void Server::finish_streams() {
    std::lock_guard<std::mutex> lock(streams_mu_);
    for (auto& [_, w] : streams_)
        if (auto s = w.lock()) s->finish();
}

using Clock = std::chrono::steady_clock;

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

bool serve(const ServerOptions& opts, const WorkerFactory& make_worker, std::string& error) {
    // Many worker threads each free memory per request; glibc's default returns it to the
    // kernel at once (madvise/munmap), and each such call stops every core of the process
    // to flush its TLB. Keeping up to 64 MiB free per arena costs far less.
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    raise_open_file_limit();
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < opts.threads; ++i) {
        auto w = make_worker(i, error);
        if (!w) return false;
        workers.push_back(std::move(w));
    }
    auto background = make_worker(opts.threads, error);
    if (!background) return false;

    const bool tls = !opts.tls_cert.empty();
    std::string cert, key;
    if (tls && (!read_file(opts.tls_cert, cert) || !read_file(opts.tls_key, key))) {
        error = "TLS: cannot load certificate " + opts.tls_cert + " with key " + opts.tls_key;
        return false;
    }
    int port = 0;
    bool v6 = false;
    int listen_fd = listen_on(opts.address, opts.port, port, v6, error);
    if (listen_fd < 0) return false;

    Lifecycle life;
    WorkerPool pool(std::move(workers));
    Server server(opts, pool, life);
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    unsigned limit = static_cast<unsigned>(std::clamp<rlim_t>(rl.rlim_cur, 128, 1 << 16) - 64);
    // A new connection is idle until its first request: the keep-alive bound applies.
    // Closing an idle connection always races a client that sends on it at that moment
    // (the request fails with nothing known about it), so the bound is long, and there
    // is no limit on requests per connection (docs/architecture.md).
    unsigned timeout = seconds(opts.idle_timeout);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     (tls ? MHD_USE_TLS : 0) | (v6 ? MHD_USE_IPv6 : 0);
    MHD_Daemon* daemon;
    if (tls) {
        daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Server::on_request, &server,
                                  MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                  MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_NOTIFY_COMPLETED,
                                  &Server::on_completed, &server, MHD_OPTION_UNESCAPE_CALLBACK,
                                  &unescape_keeping_nul, nullptr, MHD_OPTION_HTTPS_MEM_KEY, key.c_str(),
                                  MHD_OPTION_HTTPS_MEM_CERT, cert.c_str(), MHD_OPTION_END);
    } else {
        daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Server::on_request, &server,
                                  MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                  MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_NOTIFY_COMPLETED,
                                  &Server::on_completed, &server, MHD_OPTION_UNESCAPE_CALLBACK,
                                  &unescape_keeping_nul, nullptr, MHD_OPTION_END);
    }
    if (daemon == nullptr) {
        close(listen_fd);
        pool.stop();
        error = tls ? "TLS: cannot load certificate " + opts.tls_cert + " with key " + opts.tls_key
                    : "listen " + opts.address + ":" + std::to_string(port) + ": server failed to start";
        return false;
    }

    SignalScope signals;
    std::thread background_thread([&] {
        for (;;) {
            auto r = background->run_background(life);
            if (r != Worker::Background::failed || life.stopping) return;
            std::fprintf(stderr, "hostsync http: background task failed; starting it again in 1 s\n");
            if (!life.wait(1)) return;
        }
    });

    std::fprintf(stderr, "listening on %s://%s:%d\n", tls ? "https" : "http", opts.address.c_str(), port);
    std::fflush(stderr);

    auto last_ping = Clock::now();
    while (g_signal == 0) {
        sleep_ms(20);
        if (Clock::now() - last_ping >= std::chrono::seconds(1)) {
            server.ping_streams();
            last_ping = Clock::now();
        }
    }
    std::fprintf(stderr, "hostsync http: %s, shutting down (%d in flight, grace %g s)\n",
                 g_signal == SIGINT ? "SIGINT" : "SIGTERM", life.in_flight.load(), opts.grace);
    life.stop();
    MHD_socket quiesced = MHD_quiesce_daemon(daemon);   // stop accepting; connections stay
    server.finish_streams();
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.grace));
    while (life.in_flight > 0 && Clock::now() < deadline) {
        server.finish_streams();   // a stream opened meanwhile ends too
        sleep_ms(20);
    }
    if (life.in_flight > 0) {
        // Worker threads cannot be cancelled safely; the bound is kept by exiting.
        std::fprintf(stderr, "hostsync http: %d requests still running after %g s; exiting\n",
                     life.in_flight.load(), opts.grace);
        std::fflush(stderr);
        _exit(1);
    }
    MHD_stop_daemon(daemon);
    if (quiesced != MHD_INVALID_SOCKET) close(quiesced);
    background_thread.join();
    pool.stop();
    return true;
}

}  // namespace hostsync::http
