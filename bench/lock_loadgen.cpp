// Load generator for bench/lock_bench.sh: N client threads, each with its own keep-alive
// connection and bearer token, loop acquire + release of a lock over HTTP for a fixed
// time and report pairs/s and the pair latency's p50/p99. C++ with cpp-httplib so the
// generator costs far less CPU than the server it measures (Python could not keep 32
// connections busy on two cores).
//
//   lock_loadgen URL SECONDS TOKENS_FILE [--shared-lock | --chat]
//
// --chat: each client posts chat messages instead (POST /chat, 201 expected); a post
// counts as a "pair" in the output (bench/hooks_bench.sh).
//
// TOKENS_FILE: one bearer token per line, one client per token. By default client i
// takes its own lock "bench-<i>"; --shared-lock makes all fight for "bench-shared"
// (a 409 then counts as a refused attempt, not a pair).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct ClientResult {
    std::vector<double> pair_ms;
    long refused = 0;
    long errors = 0;
    std::string first_error;

    void error(const std::string& what) {
        if (errors++ == 0) first_error = what;
    }
};

std::string describe(const httplib::Result& r) {
    if (!r) return "transport: " + httplib::to_string(r.error());
    return "HTTP " + std::to_string(r->status) + ": " + r->body;
}

// The fencing token from {"fencing_token":N,...}; the body is the server's own JSON.
long fencing_token(const std::string& body) {
    auto at = body.find("\"fencing_token\":");
    if (at == std::string::npos) return -1;
    return std::strtol(body.c_str() + at + 16, nullptr, 10);
}

void run_client(const std::string& host, int port, const std::string& token, const std::string& lock, bool chat,
                Clock::time_point until, ClientResult& out) {
    httplib::Client cli(host, port);
    cli.set_keep_alive(true);
    cli.set_tcp_nodelay(true);  // headers and body are two writes: no Nagle wait between them
    cli.set_read_timeout(30, 0);
    httplib::Headers headers{{"Authorization", "Bearer " + token}};
    const std::string acquire = "/locks/" + lock + "/acquire";
    const std::string release = "/locks/" + lock + "/release";
    while (chat && Clock::now() < until) {
        auto start = Clock::now();
        auto c = cli.Post("/chat", headers, "{\"message\":\"bench @nobody\",\"project\":\"P\"}", "application/json");
        if (!c || c->status != 201) {
            out.error("chat: " + describe(c));
            continue;
        }
        out.pair_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    while (!chat && Clock::now() < until) {
        auto start = Clock::now();
        auto a = cli.Post(acquire.c_str(), headers, "{\"ttl_seconds\":60}", "application/json");
        if (!a) {
            out.error(describe(a));
            continue;
        }
        if (a->status == 409) {
            out.refused++;
            continue;
        }
        long fence = a->status == 200 ? fencing_token(a->body) : -1;
        if (fence < 0) {
            out.error("acquire: " + describe(a));
            continue;
        }
        auto r = cli.Post(release.c_str(), headers, "{\"fencing_token\":" + std::to_string(fence) + "}",
                          "application/json");
        if (!r || r->status != 200) {
            out.error("release: " + describe(r));
            continue;
        }
        out.pair_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
}

double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: lock_loadgen http://HOST:PORT SECONDS TOKENS_FILE [--shared-lock | --chat]\n");
        return 2;
    }
    std::string url = argv[1];
    double seconds = std::atof(argv[2]);
    bool shared = argc > 4 && std::string(argv[4]) == "--shared-lock";
    bool chat = argc > 4 && std::string(argv[4]) == "--chat";
    auto hp = url.substr(url.find("://") + 3);
    std::string host = hp.substr(0, hp.find(':'));
    int port = std::atoi(hp.substr(hp.find(':') + 1).c_str());

    std::vector<std::string> tokens;
    std::ifstream in(argv[3]);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) tokens.push_back(line);
    if (tokens.empty()) {
        std::fprintf(stderr, "lock_loadgen: no tokens in %s\n", argv[3]);
        return 2;
    }

    std::vector<ClientResult> results(tokens.size());
    std::vector<std::thread> threads;
    auto start = Clock::now();
    auto until = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        std::string lock = shared ? "bench-shared" : "bench-" + std::to_string(i);
        threads.emplace_back(run_client, host, port, tokens[i], lock, chat, until, std::ref(results[i]));
    }
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

    std::vector<double> all;
    long refused = 0, errors = 0;
    for (auto& r : results) {
        all.insert(all.end(), r.pair_ms.begin(), r.pair_ms.end());
        refused += r.refused;
        errors += r.errors;
        if (!r.first_error.empty()) std::fprintf(stderr, "lock_loadgen: %s\n", r.first_error.c_str());
    }
    std::sort(all.begin(), all.end());
    // One machine-readable line; lock_bench.py parses it.
    std::printf("clients=%zu pairs=%zu seconds=%.2f pairs_per_s=%.1f p50_ms=%.2f p99_ms=%.2f refused=%ld errors=%ld\n",
                tokens.size(), all.size(), elapsed, static_cast<double>(all.size()) / elapsed,
                percentile(all, 0.50), percentile(all, 0.99), refused, errors);
    return 0;
}
