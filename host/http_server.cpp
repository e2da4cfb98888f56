#include "http_server.hpp"

#include <httplib.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <list>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

namespace hostsync::http {
namespace {

// The Worker of the current pool thread. httplib calls handlers on whichever pool thread
// took the connection; each of our threads publishes its own Worker here at start.
thread_local Worker* tl_worker = nullptr;

// httplib's ThreadPool with one difference: thread i runs with workers[i] as its Worker,
// so a Lua state is only ever touched by the thread that owns it.
class WorkerPool : public httplib::TaskQueue {
public:
    explicit WorkerPool(std::vector<std::unique_ptr<Worker>>& workers) {
        for (auto& w : workers) threads_.emplace_back([this, wp = w.get()] { run(wp); });
    }
    void enqueue(std::function<void()> fn) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            jobs_.push_back(std::move(fn));
        }
        cv_.notify_one();
    }
    // Called by httplib once it stopped accepting: queued and running jobs finish first.
    void shutdown() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            shutdown_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }

private:
    void run(Worker* w) {
        tl_worker = w;
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock<std::mutex> lock(mu_);
                cv_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
                if (jobs_.empty()) break;
                fn = std::move(jobs_.front());
                jobs_.pop_front();
            }
            fn();
        }
        tl_worker = nullptr;
    }

    std::vector<std::thread> threads_;
    std::list<std::function<void()>> jobs_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool shutdown_ = false;
};

// SIGTERM/SIGINT only set a flag (all a handler may safely do); a watcher thread acts on
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

// Shared by the server, its streams and the watcher: "we are stopping" and a way to wake
// streams that are waiting between events.
struct Lifecycle {
    std::atomic<bool> stopping{false};
    std::atomic<int> in_flight{0};
    std::mutex mu;
    std::condition_variable cv;

    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu);
            stopping = true;
        }
        cv.notify_all();
    }
};

class SinkStream : public Stream {
public:
    SinkStream(httplib::DataSink& sink, Lifecycle& life) : sink_(sink), life_(life) {}
    bool write(std::string_view bytes) override {
        if (life_.stopping || broken_) return false;
        if (!sink_.write(bytes.data(), bytes.size())) broken_ = true;
        return !broken_;
    }
    bool wait(double seconds) override {
        std::unique_lock<std::mutex> lock(life_.mu);
        return !life_.cv.wait_for(lock, std::chrono::duration<double>(seconds),
                                  [&] { return life_.stopping.load(); });
    }

private:
    httplib::DataSink& sink_;
    Lifecycle& life_;
    bool broken_ = false;
};

// The reason for statuses httplib produces on its own (it keeps its table private).
std::string reason(int status) {
    switch (status) {
        case 400: return "bad request";
        case 404: return "not found";
        case 405: return "method not allowed";
        case 414: return "URI too long";
        case 415: return "unsupported media type (multipart/form-data is not accepted)";
        case 416: return "range not satisfiable";
        case 500: return "internal server error";
        default: return "HTTP " + std::to_string(status);
    }
}

std::string json_error(const std::string& message) {
    return nlohmann::json{{"error", message}}.dump();
}

ServerRequest convert(const httplib::Request& r) {
    ServerRequest out;
    out.method = r.method;
    out.path = r.path;
    out.query.assign(r.params.begin(), r.params.end());
    for (const auto& [k, v] : r.headers) {
        std::string name = k;
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers.emplace_back(std::move(name), v);
    }
    out.body = r.body;
    out.remote_addr = r.remote_addr + ":" + std::to_string(r.remote_port);
    return out;
}

void split_seconds(double s, time_t& sec, time_t& usec) {
    sec = static_cast<time_t>(s);
    usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
}

// A body with a Content-Encoding: httplib decodes it as it reads, so reading it costs up
// to its expansion ratio in CPU.
bool is_encoded(const httplib::Request& req) {
    std::string enc = req.get_header_value("Content-Encoding");
    return !enc.empty() && enc != "identity";
}

// A refused request's body: a plain one is read and thrown away (httplib does the same
// with a body over its limit) so the connection stays in step for the next request; an
// encoded one is not decoded for a stranger: the answer closes the connection instead.
void discard_body(const httplib::Request& req, const httplib::ContentReader& reader, httplib::Response& res) {
    if (is_encoded(req)) {
        res.set_header("Connection", "close");
        return;
    }
    auto drop = [](const char*, std::size_t) { return true; };
    if (req.is_multipart_form_data())
        reader([](const httplib::MultipartFormData&) { return true; }, drop);
    else
        reader(drop);
}

// Reads the body through httplib's content reader into `body`, at most `max` bytes after
// any Content-Encoding is undone (httplib's own limit counts the encoded bytes only, so a
// small gzip body could expand without bound). false with res.status set: 413 too large,
// 400 malformed, 415 multipart (no app here takes form uploads; the form is discarded).
// A body that decodes past the limit is not read further: the 413 closes the connection.
bool read_body(const httplib::Request& req, const httplib::ContentReader& reader, std::size_t max,
               std::string& body, httplib::Response& res) {
    if (req.is_multipart_form_data()) {
        discard_body(req, reader, res);
        res.status = 415;
        return false;
    }
    bool too_large = false;
    bool ok = reader([&](const char* data, std::size_t n) {
        if (n > max - body.size()) {
            too_large = true;
            return false;
        }
        body.append(data, n);
        return true;
    });
    if (too_large) {
        res.status = 413;
        res.set_header("Connection", "close");
    } else if (!ok && res.status < 400) {
        res.status = 400;
    }
    return ok && !too_large;
}

}  // namespace

bool serve(const ServerOptions& opts, const WorkerFactory& make_worker, std::string& error) {
    // Many worker threads each free memory per request; glibc's default returns it to the
    // kernel at once (madvise/munmap), and each such call stops every core of the process
    // to flush its TLB. Keeping up to 64 MiB free per arena costs far less.
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < opts.threads; ++i) {
        auto w = make_worker(i, error);
        if (!w) return false;
        workers.push_back(std::move(w));
    }

    std::unique_ptr<httplib::Server> svr;
    bool tls = !opts.tls_cert.empty();
    if (tls) {
        svr = std::make_unique<httplib::SSLServer>(opts.tls_cert.c_str(), opts.tls_key.c_str());
        if (!svr->is_valid()) {
            error = "TLS: cannot load certificate " + opts.tls_cert + " with key " + opts.tls_key;
            return false;
        }
    } else {
        svr = std::make_unique<httplib::Server>();
    }

    Lifecycle life;
    svr->new_task_queue = [&workers] { return new WorkerPool(workers); };
    svr->set_payload_max_length(opts.max_body);
    time_t s, us;
    split_seconds(opts.read_timeout, s, us);
    svr->set_read_timeout(s, us);
    // An idle keep-alive connection holds its worker until this expires, shutdown included.
    svr->set_keep_alive_timeout(2);
    // httplib writes a response's head and body separately: without TCP_NODELAY, Nagle
    // holds the body until the client's delayed ACK (~40 ms per keep-alive request).
    svr->set_tcp_nodelay(true);
    // The default (5) makes every client reconnect after five requests, and httplib's
    // listen backlog is 5: under 32 clients SYNs get dropped and retried a second later.
    svr->set_keep_alive_max_count(100);

    // One request, start to finish, on the worker thread that owns `w`: admit on the head,
    // then (if admitted and its body could be read) handle. A stream keeps the thread.
    auto serve_request = [&life](const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader* reader, std::size_t max_body) {
        Worker* w = tl_worker;
        ServerResponse out;
        life.in_flight++;
        struct Done {
            Lifecycle& l;
            ~Done() { l.in_flight--; }
        } done{life};
        ServerRequest in = convert(req);
        if (!w->admit(in, out)) {
            if (reader) discard_body(req, *reader, res);
        } else if (reader && !read_body(req, *reader, max_body, in.body, res)) {
            return;  // res.status says why (413, 400, 415); the error handler writes the body
        } else {
            w->handle(in, out);
        }
        res.status = out.status;
        for (auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
        if (out.stream) {
            res.set_header("Cache-Control", "no-cache");
            res.set_chunked_content_provider(
                "text/event-stream",
                [&life, fn = std::move(out.stream)](std::size_t, httplib::DataSink& sink) {
                    life.in_flight++;
                    SinkStream stream(sink, life);
                    fn(stream);
                    life.in_flight--;
                    sink.done();
                    return true;
                });
        } else {
            std::string type = res.get_header_value("Content-Type");
            res.body = std::move(out.body);
            if (type.empty() && !res.body.empty()) res.set_header("Content-Type", "text/plain; charset=utf-8");
        }
    };
    // Methods with a body use httplib's content-reader handlers, which run before the body
    // is read: admission first, then the body (or its discarding).
    auto without_body = [&serve_request](const httplib::Request& req, httplib::Response& res) {
        serve_request(req, res, nullptr, 0);
    };
    auto with_body = [&serve_request, max = opts.max_body](const httplib::Request& req, httplib::Response& res,
                                                          const httplib::ContentReader& reader) {
        serve_request(req, res, &reader, max);
    };
    svr->Get(".*", without_body);
    svr->Options(".*", without_body);
    svr->Post(".*", with_body);
    svr->Put(".*", with_body);
    svr->Patch(".*", with_body);
    svr->Delete(".*", with_body);

    // Errors httplib produces itself (413, 400, a 404 we never see) get a JSON body too;
    // a body a handler set is left alone.
    svr->set_error_handler([max = opts.max_body](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_) return;
        std::string msg = res.status == 413
                              ? "request body larger than " + std::to_string(max) + " bytes"
                              : reason(res.status);
        res.headers.erase("Content-Type");  // set_content adds one; never send two
        res.set_content(json_error(msg), "application/json");
    });
    svr->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        std::fprintf(stderr, "hostsync http: %s %s: %s\n", req.method.c_str(), req.path.c_str(), what.c_str());
        res.status = 500;
        res.set_content(json_error("internal server error"), "application/json");
    });

    int port = opts.port;
    if (port == 0) {
        port = svr->bind_to_any_port(opts.address);
        if (port < 0) {
            error = "listen " + opts.address + ": cannot bind a port";
            return false;
        }
    } else if (!svr->bind_to_port(opts.address, port)) {
        error = "listen " + opts.address + ":" + std::to_string(port) + ": " +
                "cannot bind (in use, or not an address of this machine)";
        return false;
    }

    SignalScope signals;
    std::atomic<bool> finished{false};
    std::thread watcher([&] {
        while (!finished && g_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (finished) return;
        std::fprintf(stderr, "hostsync http: %s, shutting down (%d in flight, grace %g s)\n",
                     g_signal == SIGINT ? "SIGINT" : "SIGTERM", life.in_flight.load(), opts.grace);
        life.stop();
        // httplib's stop() does nothing until listen has started; a signal that lands
        // just after "listening on" was printed must not be lost.
        while (!finished && !svr->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        svr->stop();
        auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(opts.grace);
        while (!finished && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!finished) {
            // Worker threads cannot be cancelled safely; the bound is kept by exiting.
            std::fprintf(stderr, "hostsync http: %d requests still running after %g s; exiting\n",
                         life.in_flight.load(), opts.grace);
            std::fflush(stderr);
            _exit(1);
        }
    });

    std::fprintf(stderr, "listening on %s://%s:%d\n", tls ? "https" : "http", opts.address.c_str(), port);
    std::fflush(stderr);
    bool ok = svr->listen_after_bind();
    finished = true;
    watcher.join();
    if (!ok && !life.stopping) {
        error = "listen " + opts.address + ":" + std::to_string(port) + ": server failed";
        return false;
    }
    return true;
}

}  // namespace hostsync::http
