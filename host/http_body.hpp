#pragma once
// A request body as it arrives in pieces: kept up to a limit counted after any
// Content-Encoding is undone (gzip and deflate, through zlib), or only counted when the
// request is refused or already over the limit, so the connection stays in step without
// the server keeping (or decoding) what it will not use. No sockets; used by the server.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace hostsync::http {

class RequestBody {
public:
    enum class Problem { none, too_large, bad_encoding, unsupported_encoding };

    // `encoding`: the Content-Encoding header ("" or "identity" for none).
    RequestBody(std::size_t max, std::string_view encoding);
    ~RequestBody();
    RequestBody(const RequestBody&) = delete;
    RequestBody& operator=(const RequestBody&) = delete;

    // The next piece off the wire. Once there is a problem, or after drop(), pieces are
    // only counted.
    void feed(const char* data, std::size_t n);
    // The body ended; an encoded one must have ended its stream too.
    void finish();
    // The request was refused: what follows is read only to be thrown away.
    void drop();

    bool encoded() const { return encoding_ != Encoding::none; }
    Problem problem() const { return problem_; }
    std::size_t wire_bytes() const { return wire_; }   // bytes read off the connection
    std::string& text() { return text_; }              // the (decoded) body

private:
    enum class Encoding { none, zlib };
    void fail(Problem p);

    std::size_t max_;
    Encoding encoding_ = Encoding::none;
    Problem problem_ = Problem::none;
    bool dropping_ = false;
    std::size_t wire_ = 0;
    std::string text_;
    struct Inflater;
    std::unique_ptr<Inflater> inflater_;
};

}  // namespace hostsync::http
