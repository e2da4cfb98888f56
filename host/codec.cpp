#include "codec.hpp"

#include <cstdint>
#include <cstdio>

namespace hostsync::codec {
namespace {

const char kHexDigits[] = "0123456789abcdef";

// One lookup per input byte instead of two nibble computations.
struct HexPairs {
    char pair[256][2] = {};
    constexpr HexPairs() {
        for (int b = 0; b < 256; ++b) {
            pair[b][0] = kHexDigits[b >> 4];
            pair[b][1] = kHexDigits[b & 15];
        }
    }
};
constexpr HexPairs kHexPairs;

// -1 marks a byte that is not a hex digit.
struct HexValues {
    std::int8_t value[256] = {};
    constexpr HexValues() {
        for (int b = 0; b < 256; ++b) value[b] = -1;
        for (int d = 0; d < 10; ++d) value['0' + d] = static_cast<std::int8_t>(d);
        for (int d = 0; d < 6; ++d) {
            value['a' + d] = static_cast<std::int8_t>(10 + d);
            value['A' + d] = static_cast<std::int8_t>(10 + d);
        }
    }
};
constexpr HexValues kHexValues;

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

struct B64Values {
    std::int8_t value[256] = {};
    constexpr B64Values() {
        for (int b = 0; b < 256; ++b) value[b] = -1;
        for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kB64[i])] = static_cast<std::int8_t>(i);
    }
};
constexpr B64Values kB64Values;

// Printable form of a bad byte for an error message: 'g' or \x00.
std::string show_byte(unsigned char c) {
    char buf[8];
    if (c >= 0x20 && c < 0x7f) std::snprintf(buf, sizeof buf, "'%c'", c);
    else std::snprintf(buf, sizeof buf, "\\x%02x", c);
    return buf;
}

bool fail_at(std::string& err, const char* fn, const std::string& what, std::size_t offset) {
    err = std::string(fn) + ": " + what + " at offset " + std::to_string(offset);
    return false;
}

}  // namespace

void hex_encode_to(const unsigned char* in, std::size_t n, char* out) {
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = kHexPairs.pair[in[i]][0];
        out[2 * i + 1] = kHexPairs.pair[in[i]][1];
    }
}

std::string hex_encode(std::string_view data) {
    std::string out(data.size() * 2, '\0');
    hex_encode_to(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

bool hex_decode(std::string_view text, std::string& out, std::string& err) {
    out.assign(text.size() / 2, '\0');
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
        int hi = kHexValues.value[static_cast<unsigned char>(text[i])];
        int lo = kHexValues.value[static_cast<unsigned char>(text[i + 1])];
        if (hi < 0) return fail_at(err, "hex_decode", "invalid character " + show_byte(text[i]), i);
        if (lo < 0) return fail_at(err, "hex_decode", "invalid character " + show_byte(text[i + 1]), i + 1);
        out[i / 2] = static_cast<char>(hi << 4 | lo);
    }
    if (text.size() % 2 != 0) {
        // Report a bad last character before complaining about the length.
        std::size_t last = text.size() - 1;
        if (kHexValues.value[static_cast<unsigned char>(text[last])] < 0)
            return fail_at(err, "hex_decode", "invalid character " + show_byte(text[last]), last);
        return fail_at(err, "hex_decode", "odd length " + std::to_string(text.size()) + ": unpaired digit", last);
    }
    return true;
}

std::string base64_encode(std::string_view data) {
    std::string out;
    out.resize((data.size() + 2) / 3 * 4);
    auto in = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t i = 0, o = 0, n = data.size();
    for (; i + 3 <= n; i += 3) {
        std::uint32_t v = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8 | in[i + 2];
        out[o++] = kB64[v >> 18];
        out[o++] = kB64[(v >> 12) & 63];
        out[o++] = kB64[(v >> 6) & 63];
        out[o++] = kB64[v & 63];
    }
    if (n - i == 1) {
        std::uint32_t v = std::uint32_t(in[i]) << 16;
        out[o++] = kB64[v >> 18];
        out[o++] = kB64[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        std::uint32_t v = std::uint32_t(in[i]) << 16 | std::uint32_t(in[i + 1]) << 8;
        out[o++] = kB64[v >> 18];
        out[o++] = kB64[(v >> 12) & 63];
        out[o++] = kB64[(v >> 6) & 63];
        out[o++] = '=';
    }
    return out;
}

bool base64_decode(std::string_view text, std::string& out, std::string& err) {
    const char* fn = "base64_decode";
    std::size_t n = text.size();
    out.clear();
    out.reserve(n / 4 * 3);
    for (std::size_t q = 0; q < n; q += 4) {
        bool last_quartet = q + 4 >= n;
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            std::size_t at = q + k;
            if (at >= n) return fail_at(err, fn, "truncated input (length " + std::to_string(n) + " is not a multiple of 4)", n);
            unsigned char c = static_cast<unsigned char>(text[at]);
            if (c == '=') {
                // Padding: only in the last quartet, only in positions 3 and 4, and
                // nothing but '=' after the first one.
                if (!last_quartet || k < 2) return fail_at(err, fn, "unexpected padding '='", at);
                ++pad;
                v[k] = 0;
                continue;
            }
            if (pad > 0) return fail_at(err, fn, "character " + show_byte(c) + " after padding", at);
            v[k] = kB64Values.value[c];
            if (v[k] < 0) return fail_at(err, fn, "invalid character " + show_byte(c), at);
        }
        std::uint32_t bits = std::uint32_t(v[0]) << 18 | std::uint32_t(v[1]) << 12 | std::uint32_t(v[2]) << 6 | std::uint32_t(v[3]);
        out.push_back(static_cast<char>(bits >> 16));
        if (pad < 2) out.push_back(static_cast<char>(bits >> 8));
        if (pad < 1) out.push_back(static_cast<char>(bits));
        // Non-zero bits that padding discards would make two encodings decode alike.
        if ((pad == 1 && (bits & 0xff) != 0) || (pad == 2 && (bits & 0xffff) != 0))
            return fail_at(err, fn, "non-zero bits before padding", q + 3 - pad);
    }
    return true;
}

}  // namespace hostsync::codec
