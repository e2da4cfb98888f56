// The stream side of bench/stream_bench.py: opens N `GET PATH` event streams with one
// epoll loop and records when each `id:` line arrives, so the readers cost the machine
// far less than the server they measure (Python reading 1,000 sockets took as much CPU
// per post as the server's fan-out).
//
//   stream_readers PORT TOKEN N PATH OUTFILE
//
// Prints "opened K" once K = N response heads arrived (or after 60 s), then reads until
// its stdin is closed; then writes one line per event to OUTFILE, "STREAM ID NS" (NS on
// CLOCK_MONOTONIC, the clock of Python's time.monotonic), and "ended E" on stdout: how
// many streams the server ended.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

struct Conn {
    int fd = -1;
    bool head = false;
    bool ended = false;
    std::string buf;    // raw bytes not yet de-chunked
    std::string text;   // de-chunked bytes not yet split into lines
};

struct Record {
    int stream;
    long id;
    long long ns;
};

long long now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Consumes what it can of c.buf; appends records for complete "id: N" lines.
void feed(Conn& c, int index, long long ns, std::vector<Record>& out, int& heads) {
    if (!c.head) {
        auto end = c.buf.find("\r\n\r\n");
        if (end == std::string::npos) return;
        if (c.buf.compare(0, 12, "HTTP/1.1 200") != 0) {
            std::fprintf(stderr, "stream %d: %s\n", index, c.buf.substr(0, 80).c_str());
            std::exit(1);
        }
        c.buf.erase(0, end + 4);
        c.head = true;
        ++heads;
    }
    for (;;) {   // chunked: "<hex>\r\n<data>\r\n"
        auto line_end = c.buf.find("\r\n");
        if (line_end == std::string::npos) break;
        std::size_t size = std::strtoul(c.buf.c_str(), nullptr, 16);
        if (c.buf.size() < line_end + 2 + size + 2) break;
        c.text.append(c.buf, line_end + 2, size);
        c.buf.erase(0, line_end + 4 + size);
    }
    std::size_t start = 0;
    for (;;) {
        auto nl = c.text.find('\n', start);
        if (nl == std::string::npos) break;
        if (c.text.compare(start, 4, "id: ") == 0) out.push_back({index, std::atol(c.text.c_str() + start + 4), ns});
        start = nl + 1;
    }
    c.text.erase(0, start);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: stream_readers PORT TOKEN N PATH OUTFILE\n");
        return 2;
    }
    int port = std::atoi(argv[1]);
    std::string request = std::string("GET ") + argv[4] + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                          argv[2] + "\r\nAccept: text/event-stream\r\n\r\n";
    int n = std::atoi(argv[3]);
    std::vector<Conn> conns(n);
    int ep = epoll_create1(0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            std::perror("connect");
            return 1;
        }
        if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return 1;
        conns[i].fd = fd;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    std::vector<Record> records;
    records.reserve(1 << 16);
    int heads = 0, ended = 0;
    bool announced = false;
    long long open_deadline = now_ns() + 60'000'000'000LL;
    std::vector<epoll_event> events(256);
    char buf[65536];
    for (;;) {
        if (!announced && (heads == n || now_ns() > open_deadline)) {
            std::printf("opened %d\n", heads);
            std::fflush(stdout);
            announced = true;
        }
        if (announced) {   // stop once stdin is closed
            pollfd p{0, POLLIN, 0};
            if (poll(&p, 1, 0) > 0 && read(0, buf, sizeof buf) <= 0) break;
        }
        int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
        long long ns = now_ns();
        for (int j = 0; j < k; ++j) {
            int i = static_cast<int>(events[j].data.u32);
            ssize_t got = read(conns[i].fd, buf, sizeof buf);
            if (got <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, conns[i].fd, nullptr);
                if (!conns[i].ended) ++ended;
                conns[i].ended = true;
                continue;
            }
            conns[i].buf.append(buf, static_cast<std::size_t>(got));
            feed(conns[i], i, ns, records, heads);
        }
    }
    FILE* out = std::fopen(argv[5], "w");
    if (out == nullptr) return 1;
    for (const auto& r : records) std::fprintf(out, "%d %ld %lld\n", r.stream, r.id, r.ns);
    std::fclose(out);
    std::printf("ended %d\n", ended);
    return 0;
}
