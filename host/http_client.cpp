#include "http_client.hpp"

#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "http_retry.hpp"
#include "http_url.hpp"

namespace hostsync::http {
namespace {

const char kCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";
const char kCaDir[] = "/etc/ssl/certs";

void split_seconds(double s, time_t& sec, time_t& usec) {
    sec = static_cast<time_t>(s);
    usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
}

// httplib reports a failed connect as Error::Connection without the reason (it reads
// SO_ERROR itself and drops it), so on failure we connect once more ourselves, only to
// name the cause: "Connection refused", "No route to host", a resolver error.
std::string connect_diagnosis(const Url& u, double timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(u.host.c_str(), std::to_string(u.port).c_str(), &hints, &res);
    if (rc != 0) return gai_strerror(rc);
    std::string reason = "connection failed";
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int err = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                pollfd p{fd, POLLOUT, 0};
                int n = poll(&p, 1, static_cast<int>(timeout * 1000));
                socklen_t len = sizeof err;
                if (n == 0) err = ETIMEDOUT;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            }
        }
        close(fd);
        if (err == 0) break;  // reachable now: keep the generic reason
        reason = std::strerror(err);
    }
    freeaddrinfo(res);
    return reason;
}

std::unique_ptr<httplib::Client> make_client(const Url& u, const ClientOptions& o) {
    auto cli = std::make_unique<httplib::Client>(u.origin());
    time_t s, us;
    split_seconds(o.timeout, s, us);
    cli->set_connection_timeout(s, us);
    cli->set_read_timeout(s, us);
    cli->set_write_timeout(s, us);
    cli->set_follow_location(false);
    // The request line and headers go out in one write and the body in another; with
    // Nagle's algorithm a body's last partial segment waits for the peer's ACK of the
    // headers, which a delayed ACK can hold up to 40 ms (the server side sets it too;
    // Python's http.client does the same).
    cli->set_tcp_nodelay(true);
    if (u.scheme == "https") {
        // Verification is on unless the caller turns it off; the CA file replaces the
        // system bundle rather than adding to it, so a test CA is trusted alone.
        if (!o.ca_file.empty()) cli->set_ca_cert_path(o.ca_file, "");
        else cli->set_ca_cert_path(kCaBundle, kCaDir);
        cli->enable_server_certificate_verification(o.verify);
    }
    return cli;
}

httplib::Headers to_httplib(const HeaderList& h, bool has_user_agent_default) {
    httplib::Headers out;
    bool ua = false;
    for (const auto& [k, v] : h) {
        if (strcasecmp(k.c_str(), "user-agent") == 0) ua = true;
        out.emplace(k, v);
    }
    if (!ua && has_user_agent_default) out.emplace("User-Agent", "hostsync/" HOSTSYNC_VERSION);
    return out;
}

// The failure of one attempt as the caller reads it, and how the retry policy sees it.
Outcome describe(httplib::Error e, const Url& u, const std::string& method, double elapsed,
                 const ClientOptions& o, std::string& msg) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", o.timeout);
    std::string req = method + " " + u.origin() + u.target;
    switch (e) {
        case httplib::Error::Connection:
            msg = "connect " + u.peer() + ": " + connect_diagnosis(u, std::min(o.timeout, 2.0));
            return Outcome::ConnectFailed;
        case httplib::Error::ConnectionTimeout:
            msg = "connect " + u.peer() + ": timed out after " + secs + " s";
            return Outcome::ConnectFailed;
        case httplib::Error::BindIPAddress:
            msg = "connect " + u.peer() + ": cannot bind the local address";
            return Outcome::ConnectFailed;
        case httplib::Error::Read:
            // 0.11 reports a read timeout as a plain read error: tell them apart by the clock.
            if (elapsed + 0.05 >= o.timeout) msg = req + ": timed out after " + secs + " s waiting for " + u.peer();
            else msg = req + ": connection to " + u.peer() + " closed before a complete response";
            return Outcome::Broken;
        case httplib::Error::Write:
            msg = req + ": writing to " + u.peer() + " failed";
            return Outcome::Broken;
        case httplib::Error::SSLConnection:
            msg = "TLS handshake with " + u.peer() + " failed";
            return Outcome::Fatal;
        case httplib::Error::SSLServerVerification:
            msg = "TLS with " + u.peer() + ": certificate verification failed (untrusted, expired or wrong host)";
            return Outcome::Fatal;
        case httplib::Error::SSLLoadingCerts:
            msg = "TLS with " + u.peer() + ": cannot load CA certificates from " +
                  (o.ca_file.empty() ? std::string(kCaBundle) : o.ca_file);
            return Outcome::Fatal;
        case httplib::Error::Canceled:
            msg = req + ": canceled";
            return Outcome::Fatal;
        default:
            msg = req + ": " + httplib::to_string(e);
            return Outcome::Fatal;
    }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

bool request(ClientRequest req, const ClientOptions& opts, ClientResponse& out,
             std::string& error) {
    std::string perr;
    auto url = parse_url(req.url, perr);
    if (!url) {
        error = req.url + ": " + perr;
        return false;
    }
    thread_local std::mt19937_64 rng{std::random_device{}()};
    httplib::Request hreq;
    hreq.method = req.method;
    hreq.path = url->target;
    hreq.headers = to_httplib(req.headers, true);
    hreq.body = std::move(req.body);
    for (int attempt = 1;; ++attempt) {
        auto cli = make_client(*url, opts);
        auto t0 = std::chrono::steady_clock::now();
        httplib::Result res = cli->send(hreq);
        Outcome outcome = Outcome::Response;
        double wait = -1;
        if (res) {
            out.status = res->status;
            out.headers.assign(res->headers.begin(), res->headers.end());
            out.body = std::move(res->body);
            out.attempts = attempt;
            if (res->status == 429 || res->status == 503) {
                if (auto ra = parse_retry_after(res->get_header_value("Retry-After"))) {
                    if (*ra > opts.max_retry_after) return true;  // too long: caller decides
                    wait = *ra;
                }
            }
        } else {
            outcome = describe(res.error(), *url, req.method, seconds_since(t0), opts, error);
        }
        if (attempt > opts.retries || !should_retry(outcome, out.status, req.method, opts.replay_safe)) {
            return outcome == Outcome::Response;
        }
        if (wait < 0) wait = backoff_delay(opts.backoff, attempt, opts.max_backoff, rng);
        std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
}

bool stream_get(const std::string& url_text, const HeaderList& headers, const ClientOptions& opts,
                const StreamHandlers& h, bool& stopped, std::string& error) {
    stopped = false;
    std::string perr;
    auto url = parse_url(url_text, perr);
    if (!url) {
        error = url_text + ": " + perr;
        return false;
    }
    auto cli = make_client(*url, opts);
    auto t0 = std::chrono::steady_clock::now();
    auto res = cli->Get(
        url->target, to_httplib(headers, true),
        [&](const httplib::Response& r) {
            HeaderList hl(r.headers.begin(), r.headers.end());
            if (!h.on_head(r.status, hl)) stopped = true;
            return !stopped;
        },
        [&](const char* data, std::size_t n) {
            t0 = std::chrono::steady_clock::now();  // the timeout is per silence, not total
            if (!h.on_chunk(data, n)) stopped = true;
            return !stopped;
        });
    if (stopped) return true;
    if (res) return true;
    describe(res.error(), *url, "GET", seconds_since(t0), opts, error);
    return false;
}

}  // namespace hostsync::http
