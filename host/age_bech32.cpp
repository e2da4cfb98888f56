#include "age_bech32.hpp"

#include <cstdint>
#include <vector>

namespace hostsync::age::bech32 {

namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

std::uint32_t polymod(const std::vector<std::uint8_t>& values) {
    static const std::uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    std::uint32_t chk = 1;
    for (std::uint8_t v : values) {
        std::uint32_t top = chk >> 25;
        chk = ((chk & 0x1ffffff) << 5) ^ v;
        for (int i = 0; i < 5; ++i)
            if ((top >> i) & 1) chk ^= gen[i];
    }
    return chk;
}

std::vector<std::uint8_t> hrp_expand(std::string_view hrp) {
    std::vector<std::uint8_t> out;
    out.reserve(hrp.size() * 2 + 1);
    for (char c : hrp) out.push_back(static_cast<std::uint8_t>(c) >> 5);
    out.push_back(0);
    for (char c : hrp) out.push_back(static_cast<std::uint8_t>(c) & 31);
    return out;
}

int charset_index(char c) {
    for (int i = 0; i < 32; ++i)
        if (kCharset[i] == c) return i;
    return -1;
}

}  // namespace

std::string encode(std::string_view hrp, std::string_view data, bool upper) {
    std::string lower_hrp;
    for (char c : hrp) lower_hrp += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    // 8-bit bytes to 5-bit words, zero-padded at the end.
    std::vector<std::uint8_t> words;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char b : data) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            words.push_back((acc >> bits) & 31);
        }
    }
    if (bits > 0) words.push_back((acc << (5 - bits)) & 31);

    std::vector<std::uint8_t> values = hrp_expand(lower_hrp);
    values.insert(values.end(), words.begin(), words.end());
    values.insert(values.end(), 6, 0);
    std::uint32_t mod = polymod(values) ^ 1;
    for (int i = 0; i < 6; ++i) words.push_back((mod >> (5 * (5 - i))) & 31);

    std::string out = lower_hrp + "1";
    for (std::uint8_t w : words) out += kCharset[w];
    if (upper)
        for (char& c : out)
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

bool decode(std::string_view text, std::string& hrp_out, std::string& data_out, std::string& err) {
    bool has_lower = false, has_upper = false;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) return (err = "bech32: invalid character", false);
        has_lower |= (c >= 'a' && c <= 'z');
        has_upper |= (c >= 'A' && c <= 'Z');
    }
    if (has_lower && has_upper) return (err = "bech32: mixed case", false);
    std::string s(text);
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    std::size_t sep = s.rfind('1');
    if (sep == std::string::npos || sep == 0) return (err = "bech32: missing separator or human-readable part", false);
    if (s.size() - sep - 1 < 6) return (err = "bech32: too short for a checksum", false);
    std::string hrp = s.substr(0, sep);
    std::vector<std::uint8_t> values = hrp_expand(hrp);
    std::vector<std::uint8_t> words;
    for (std::size_t i = sep + 1; i < s.size(); ++i) {
        int v = charset_index(s[i]);
        if (v < 0) return (err = "bech32: invalid character in data part", false);
        words.push_back(static_cast<std::uint8_t>(v));
    }
    values.insert(values.end(), words.begin(), words.end());
    if (polymod(values) != 1) return (err = "bech32: invalid checksum", false);
    words.resize(words.size() - 6);
    // 5-bit words back to bytes: the padding must be shorter than 5 bits and all zero.
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::uint8_t w : words) {
        acc = (acc << 5) | w;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) return (err = "bech32: invalid padding", false);
    hrp_out = std::move(hrp);
    data_out = std::move(out);
    return true;
}

}  // namespace hostsync::age::bech32
