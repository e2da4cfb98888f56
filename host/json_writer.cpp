#include "json_writer.hpp"

#include <cstdint>
#include <cstring>

#include "es_number.hpp"
#include "jcs_string.hpp"
#include "utf8.hpp"

namespace hostsync::json {

namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;

// Eight bytes at once: (w - k*ones) & ~w has a high bit set in some byte iff some byte of
// w is below k (for k <= 0x80), and x ^ c*ones has a zero byte where x has the byte c.
inline bool plain_word(std::uint64_t w) {
    std::uint64_t control = (w - kOnes * 0x20) & ~w;
    std::uint64_t q = w ^ (kOnes * '"');
    std::uint64_t b = w ^ (kOnes * '\\');
    return ((w | control | ((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHighs) == 0;
}

struct PlainTable {
    bool plain[256] = {};
    constexpr PlainTable() {
        for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
    }
};
constexpr PlainTable kPlain;

}  // namespace

bool plain_ascii(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    if (n < 8) {  // short keys are common: one table lookup per byte
        bool ok = true;
        for (std::size_t i = 0; i < n; ++i) ok &= kPlain.plain[p[i]];
        return ok;
    }
    std::uint64_t w;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::memcpy(&w, p + i, 8);
        if (!plain_word(w)) return false;
    }
    if (i == n) return true;
    std::memcpy(&w, p + n - 8, 8);  // the tail, overlapping bytes already checked
    return plain_word(w);
}

void Writer::newline() {
    out_.push_back('\n');
    out_.append(static_cast<std::size_t>(depth_) * 2, ' ');
}

// Called before every value and key: separates it from its predecessor. A value that
// follows its key needs nothing.
void Writer::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (depth_ == 0) return;
    if (!first_) out_.push_back(',');
    first_ = false;
    if (pretty_) newline();
}

void Writer::open(char c) {
    before_value();
    out_.push_back(c);
    ++depth_;
    first_ = true;
}

void Writer::close(char c) {
    --depth_;
    // An empty container stays "{}" / "[]" on one line even when pretty.
    if (pretty_ && !first_) newline();
    out_.push_back(c);
    first_ = false;  // the container just closed is a member of its parent
}

bool Writer::append_string(std::string_view s) {
    if (plain_ascii(s)) {
        out_.push_back('"');
        out_.append(s);
        out_.push_back('"');
        return true;
    }
    if (!utf8::valid(s)) return false;
    jcs::append_string(out_, s);
    return true;
}

bool Writer::key(std::string_view k) {
    before_value();
    if (!append_string(k)) return false;
    out_.push_back(':');
    if (pretty_) out_.push_back(' ');
    after_key_ = true;
    return true;
}

void Writer::plain_key(std::string_view k) {
    before_value();
    out_.push_back('"');
    out_.append(k);
    out_.append(pretty_ ? "\": " : "\":", pretty_ ? 3 : 2);
    after_key_ = true;
}

bool Writer::string_value(std::string_view s) {
    before_value();
    return append_string(s);
}

void Writer::number_value(double v) {
    before_value();
    es_number::append(out_, v);
}

}  // namespace hostsync::json
