#include "http_body.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace hostsync::http {

struct RequestBody::Inflater {
    z_stream zs{};
    bool ended = false;
    Inflater() {
        // 32 + MAX_WBITS: zlib or gzip header, whichever the data has ("deflate" in HTTP
        // is the zlib format).
        if (inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK) ended = true;
    }
    ~Inflater() { inflateEnd(&zs); }
};

RequestBody::RequestBody(std::size_t max, std::string_view encoding) : max_(max) {
    std::string enc(encoding);
    for (auto& c : enc) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    enc.erase(std::remove(enc.begin(), enc.end(), ' '), enc.end());
    if (enc.empty() || enc == "identity") return;
    if (enc == "gzip" || enc == "x-gzip" || enc == "deflate") {
        encoding_ = Encoding::zlib;
        inflater_ = std::make_unique<Inflater>();
    } else {
        // Other codings (br, compress, several in a row): not decoded, so refused.
        encoding_ = Encoding::zlib;
        problem_ = Problem::unsupported_encoding;
    }
}

RequestBody::~RequestBody() = default;

void RequestBody::fail(Problem p) {
    if (problem_ == Problem::none) problem_ = p;
    std::string().swap(text_);
}

void RequestBody::drop() {
    dropping_ = true;
    std::string().swap(text_);
}

void RequestBody::feed(const char* data, std::size_t n) {
    wire_ += n;
    if (dropping_ || problem_ != Problem::none) return;
    if (encoding_ == Encoding::none) {
        if (n > max_ - text_.size()) return fail(Problem::too_large);
        text_.append(data, n);
        return;
    }
    Inflater& in = *inflater_;
    if (in.ended) return fail(Problem::bad_encoding);   // data after the stream's end
    in.zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    in.zs.avail_in = static_cast<uInt>(n);
    char out[16384];
    while (in.zs.avail_in > 0) {
        in.zs.next_out = reinterpret_cast<Bytef*>(out);
        in.zs.avail_out = sizeof out;
        int rc = inflate(&in.zs, Z_NO_FLUSH);
        std::size_t got = sizeof out - in.zs.avail_out;
        // Decoding stops at the limit: a small compressed body cannot expand without bound.
        if (got > max_ - text_.size()) return fail(Problem::too_large);
        text_.append(out, got);
        if (rc == Z_STREAM_END) {
            in.ended = true;
            if (in.zs.avail_in > 0) return fail(Problem::bad_encoding);
            return;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) return fail(Problem::bad_encoding);
        if (rc == Z_BUF_ERROR && got == 0) break;
    }
}

void RequestBody::finish() {
    if (dropping_ || problem_ != Problem::none || encoding_ == Encoding::none) return;
    if (!inflater_->ended) fail(Problem::bad_encoding);
}

}  // namespace hostsync::http
