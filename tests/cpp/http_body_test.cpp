// Doctests for host/http_body: a request body kept up to its limit after decoding,
// gzip/deflate through zlib, a decompression bomb stopped at the limit, a refused body
// only counted.
#include <doctest/doctest.h>
#include <zlib.h>

#include <string>

#include "http_body.hpp"

using hostsync::http::RequestBody;

namespace {

// data compressed in the gzip (window bits 31) or zlib (15) format
std::string compress(const std::string& data, int window_bits) {
    z_stream zs{};
    deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, data.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

void feed_in_pieces(RequestBody& b, const std::string& wire, std::size_t piece) {
    for (std::size_t i = 0; i < wire.size(); i += piece) b.feed(wire.data() + i, std::min(piece, wire.size() - i));
}

}  // namespace

TEST_CASE("request body: plain, within and over the limit") {
    RequestBody ok(10, "");
    ok.feed("hello", 5);
    ok.feed("world", 5);
    ok.finish();
    CHECK(ok.problem() == RequestBody::Problem::none);
    CHECK(ok.text() == "helloworld");
    CHECK_FALSE(ok.encoded());

    RequestBody over(10, "identity");
    over.feed("hello", 5);
    over.feed("world!", 6);
    over.feed("more", 4);
    over.finish();
    CHECK(over.problem() == RequestBody::Problem::too_large);
    CHECK(over.text().empty());          // nothing kept
    CHECK(over.wire_bytes() == 15);      // but everything counted
}

TEST_CASE("request body: gzip and deflate are decoded, in any pieces") {
    std::string text(5000, 'a');
    for (std::size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
    for (auto [enc, bits] : {std::pair<const char*, int>{"gzip", 31}, {"deflate", 15}, {"GZip", 31}}) {
        std::string wire = compress(text, bits);
        for (std::size_t piece : {std::size_t{1}, std::size_t{13}, wire.size()}) {
            RequestBody b(10000, enc);
            CHECK(b.encoded());
            feed_in_pieces(b, wire, piece);
            b.finish();
            CHECK(b.problem() == RequestBody::Problem::none);
            CHECK(b.text() == text);
            CHECK(b.wire_bytes() == wire.size());
        }
    }
}

TEST_CASE("request body: a decompression bomb stops at the limit; broken or unknown codings are refused") {
    std::string bomb = compress(std::string(20u << 20, '\0'), 31);
    CHECK(bomb.size() < 100000);
    RequestBody b(100000, "gzip");
    feed_in_pieces(b, bomb, 4096);
    b.finish();
    CHECK(b.problem() == RequestBody::Problem::too_large);
    CHECK(b.text().empty());

    std::string wire = compress("hello", 31);
    RequestBody cut(100, "gzip");
    cut.feed(wire.data(), wire.size() - 3);   // the stream never ends
    cut.finish();
    CHECK(cut.problem() == RequestBody::Problem::bad_encoding);

    RequestBody junk(100, "deflate");
    junk.feed("not deflate at all", 18);
    junk.finish();
    CHECK(junk.problem() == RequestBody::Problem::bad_encoding);

    RequestBody trailing(100, "gzip");
    std::string extra = wire + "x";
    trailing.feed(extra.data(), extra.size());
    trailing.finish();
    CHECK(trailing.problem() == RequestBody::Problem::bad_encoding);

    RequestBody br(100, "br");
    br.feed("abc", 3);
    br.finish();
    CHECK(br.problem() == RequestBody::Problem::unsupported_encoding);
}

TEST_CASE("request body: a refused body is only counted, never kept or decoded") {
    std::string wire = compress(std::string(1000, 'x'), 31);
    RequestBody b(100000, "gzip");
    b.drop();
    b.feed(wire.data(), wire.size());
    b.finish();
    CHECK(b.text().empty());
    CHECK(b.problem() == RequestBody::Problem::none);
    CHECK(b.wire_bytes() == wire.size());
}
