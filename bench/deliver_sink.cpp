// The receiver of the delivery benchmark: a minimal HTTP/1.1 server on 127.0.0.1 that
// reads each request (headers, then Content-Length bytes of body), answers 200 "{}" at
// once, and appends "<sha256 of the body> <bytes>" to a log, so that two senders can be
// shown to have sent byte-identical batches. One connection at a time, keep-alive or
// not: it must cost the senders as little as possible, so it is C++ on plain sockets,
// reuses its buffers, and hashes on a second thread after it has answered.
//
//   deliver_sink PORT LOG      (PORT 0: the kernel picks; "listening on PORT" on stderr)
//   GET /drain                 answered once every body received so far is in the log
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <strings.h>

namespace {

bool read_more(int fd, std::string& buf) {
    char chunk[1 << 16];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::string sha256_hex(const char* data, std::size_t n) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

// Bodies waiting to be hashed and logged, in arrival order; at most kMaxQueued.
struct HashQueue {
    static constexpr std::size_t kMaxQueued = 16;
    std::mutex m;
    std::condition_variable cv;
    std::deque<std::string> bodies;
    std::vector<std::string> spare;
    bool busy = false;

    // Waits until every body received so far is logged.
    void drain() {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return bodies.empty() && !busy; });
    }

    void push(const char* data, std::size_t n) {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return bodies.size() < kMaxQueued; });
        std::string b;
        if (!spare.empty()) {
            b = std::move(spare.back());
            spare.pop_back();
        }
        b.assign(data, n);
        bodies.push_back(std::move(b));
        cv.notify_all();
    }

    void run(FILE* log) {
        for (;;) {
            std::string b;
            {
                std::unique_lock<std::mutex> lock(m);
                cv.wait(lock, [&] { return !bodies.empty(); });
                b = std::move(bodies.front());
                bodies.pop_front();
                busy = true;
            }
            std::fprintf(log, "%s %zu\n", sha256_hex(b.data(), b.size()).c_str(), b.size());
            std::fflush(log);
            std::lock_guard<std::mutex> lock(m);
            spare.push_back(std::move(b));
            busy = false;
            cv.notify_all();
        }
    }
};

void serve_connection(int fd, HashQueue& hashes, std::string& buf) {
    buf.clear();  // keeps its capacity: no new memory (and no page faults) per request
    for (;;) {
        std::size_t head_end;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos)
            if (!read_more(fd, buf)) return;
        std::size_t length = 0;
        for (std::size_t p = buf.find("\r\n"); p < head_end; p = buf.find("\r\n", p + 2)) {
            if (strncasecmp(buf.c_str() + p + 2, "Content-Length:", 15) == 0)
                length = std::strtoull(buf.c_str() + p + 17, nullptr, 10);
        }
        bool close = strcasestr(buf.substr(0, head_end).c_str(), "Connection: close") != nullptr;
        std::size_t total = head_end + 4 + length;
        while (buf.size() < total)
            if (!read_more(fd, buf)) return;
        if (buf.compare(0, 11, "GET /drain ") == 0) hashes.drain();  // the bench asks before it compares logs
        else hashes.push(buf.data() + head_end + 4, length);
        static const char kAnswer[] =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        if (::send(fd, kAnswer, sizeof kAnswer - 1, MSG_NOSIGNAL) < 0) return;
        buf.erase(0, total);
        if (close) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: deliver_sink PORT LOG\n");
        return 2;
    }
    FILE* log = std::fopen(argv[2], "a");
    if (!log) return std::perror(argv[2]), 1;
    int srv = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
    if (::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(srv, 64) != 0)
        return std::perror("bind"), 1;
    socklen_t len = sizeof addr;
    ::getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
    std::fprintf(stderr, "listening on %d\n", ntohs(addr.sin_port));
    std::string buf;
    buf.reserve(64 << 20);
    HashQueue hashes;
    std::thread([&] { hashes.run(log); }).detach();
    for (;;) {
        int fd = ::accept(srv, nullptr, nullptr);
        if (fd < 0) continue;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve_connection(fd, hashes, buf);
        ::close(fd);
    }
}
