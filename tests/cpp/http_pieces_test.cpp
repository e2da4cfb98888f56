// Doctests for the socket-free parts of hostsync.http: the SSE parser and frame writer,
// URL splitting and the retry policy.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_retry.hpp"
#include "http_url.hpp"
#include "sse.hpp"

using namespace hostsync;

namespace {
std::vector<sse::Event> parse_in_pieces(const std::string& text, std::size_t piece) {
    std::vector<sse::Event> out;
    sse::Parser p([&](const sse::Event& e) {
        out.push_back(e);
        return true;
    });
    for (std::size_t i = 0; i < text.size(); i += piece) p.feed(std::string_view(text).substr(i, piece));
    return out;
}
}  // namespace

TEST_CASE("sse parser: fields, multi-line data, comments, any line ending, any split") {
    std::string text =
        ": heartbeat\r\n"
        "id: 1\r\nevent: tick\r\ndata: a\r\ndata: b\r\n\r\n"
        "data:no-space\n\n"
        "id: 7\rdata: x\r\r"
        "id: 9\n\n"  // id without data: no event, but the id sticks
        "data: after\n\n"
        "retry: 250\n";
    for (std::size_t piece : {1, 2, 3, 5, 1000}) {
        auto ev = parse_in_pieces(text, piece);
        REQUIRE(ev.size() == 4);
        CHECK(ev[0].id == "1");
        CHECK(ev[0].event == "tick");
        CHECK(ev[0].data == "a\nb");
        CHECK(ev[1].id == "1");  // last event id persists
        CHECK(ev[1].event == "message");
        CHECK(ev[1].data == "no-space");
        CHECK(ev[2].id == "7");
        CHECK(ev[2].data == "x");
        CHECK(ev[3].id == "9");
        CHECK(ev[3].data == "after");
    }
}

TEST_CASE("sse parser: retry and stop") {
    int n = 0;
    sse::Parser p([&](const sse::Event&) { return ++n < 2; });
    CHECK(p.feed("retry: 1500\ndata: 1\n\ndata: 2\n\ndata: 3\n\n") == false);
    CHECK(n == 2);
    CHECK(p.retry_ms() == 1500);
}

TEST_CASE("sse format round-trips through the parser") {
    std::string frame = sse::format_event("42", "chat", "one\ntwo\r\nthree\n", 100);
    CHECK(frame == "id: 42\nevent: chat\nretry: 100\ndata: one\ndata: two\ndata: three\ndata: \n\n");
    auto ev = parse_in_pieces(frame, 3);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].data == "one\ntwo\nthree\n");
    CHECK_THROWS_AS(sse::format_event("1\n", "", "x"), std::invalid_argument);
    CHECK_THROWS_AS(sse::format_event("", "a\rb", "x"), std::invalid_argument);
    CHECK(sse::format_event("", "", "") == "data: \n\n");
}

TEST_CASE("parse_url") {
    std::string err;
    auto u = http::parse_url("HTTPS://Example.org/a/b?x=1#frag", err);
    REQUIRE(u);
    CHECK(u->scheme == "https");
    CHECK(u->host == "Example.org");
    CHECK(u->port == 443);
    CHECK(u->target == "/a/b?x=1");
    CHECK(u->origin() == "https://Example.org:443");
    u = http::parse_url("http://[::1]:8080?q", err);
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->peer() == "[::1]:8080");
    CHECK(u->target == "/?q");
    CHECK_FALSE(http::parse_url("ftp://x/", err));
    CHECK_FALSE(http::parse_url("http://host:99999/", err));
    CHECK_FALSE(http::parse_url("http://user:pw@host/", err));
    CHECK_FALSE(http::parse_url("http:///x", err));
}

TEST_CASE("retry policy: which outcomes, backoff bounds, Retry-After") {
    using http::Outcome;
    CHECK(http::should_retry(Outcome::ConnectFailed, 0, "POST"));
    CHECK(http::should_retry(Outcome::Broken, 0, "GET"));
    CHECK_FALSE(http::should_retry(Outcome::Broken, 0, "POST"));
    CHECK(http::should_retry(Outcome::Broken, 0, "POST", true));   // carries an idempotency key
    CHECK_FALSE(http::should_retry(Outcome::Response, 500, "POST", true));
    CHECK_FALSE(http::should_retry(Outcome::Fatal, 0, "POST", true));
    CHECK_FALSE(http::should_retry(Outcome::Fatal, 0, "GET"));
    for (int s : {502, 503, 504, 429}) CHECK(http::should_retry(Outcome::Response, s, "POST"));
    for (int s : {200, 400, 401, 404, 409, 500}) CHECK_FALSE(http::should_retry(Outcome::Response, s, "GET"));
    std::mt19937_64 rng(1);
    for (int attempt = 1; attempt <= 8; ++attempt) {
        double full = std::min(5.0, 0.1 * (1 << (attempt - 1)));
        for (int i = 0; i < 50; ++i) {
            double d = http::backoff_delay(0.1, attempt, 5.0, rng);
            CHECK(d >= full / 2);
            CHECK(d <= full);
        }
    }
    CHECK(http::parse_retry_after(" 3 ") == 3.0);
    CHECK_FALSE(http::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
    CHECK_FALSE(http::parse_retry_after("-1"));
}
