// The receiver of the delivery benchmark: a minimal HTTP/1.1 server on 127.0.0.1 that
// reads each request (headers, then Content-Length bytes of body), answers 200 "{}" at
// once, and appends "<sha256 of the body> <bytes>" to a log, so that two senders can be
// shown to have sent byte-identical batches. One connection at a time, keep-alive or
// not: it must cost the senders nothing, so it is C++ on plain sockets.
//
//   deliver_sink PORT LOG      (PORT 0: the kernel picks; "listening on PORT" on stderr)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
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

void serve_connection(int fd, FILE* log, std::string& buf) {
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
        std::fprintf(log, "%s %zu\n", sha256_hex(buf.data() + head_end + 4, length).c_str(), length);
        std::fflush(log);
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
    for (;;) {
        int fd = ::accept(srv, nullptr, nullptr);
        if (fd < 0) continue;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        serve_connection(fd, log, buf);
        ::close(fd);
    }
}
