#include "age_header.hpp"

#include <algorithm>
#include <cstdint>

namespace hostsync::age {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool is_b64_char(char c) { return b64_value(c) >= 0; }
bool is_vchar(char c) { return c >= 0x21 && c <= 0x7e; }

}  // namespace

std::string b64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() * 4 + 2) / 3);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(data[k]); };
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (data.size() - i == 1) {
        std::uint32_t v = at(i) << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
    } else if (data.size() - i == 2) {
        std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

bool b64_decode(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 == 1) return false;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = b64_value(c);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Canonical: the bits left over after the last whole byte are zero.
    return (acc & ((1u << bits) - 1)) == 0;
}

ParseStatus parse_header(std::string_view buf, Header& out, std::size_t& header_len, std::string& err) {
    out = Header{};
    // The version line, checked as soon as its bytes arrive so a non-age file fails fast.
    if (buf.size() < kVersionLine.size() && kVersionLine.substr(0, buf.size()) == buf) return ParseStatus::NeedMore;
    if (buf.substr(0, kVersionLine.size()) != kVersionLine) {
        constexpr std::string_view prefix = "age-encryption.org/";
        if (buf.substr(0, prefix.size()) == prefix) {
            // Named in the message up to its end or 80 bytes: wait for those, so the message
            // is the same however the bytes arrive (found by fuzzing).
            constexpr std::size_t kShown = 80;
            if (buf.find('\n') == std::string_view::npos && buf.size() < kShown) return ParseStatus::NeedMore;
            std::string_view v = buf.substr(0, std::min<std::size_t>(buf.find('\n'), kShown));
            std::string shown;
            for (char c : v) shown += is_vchar(c) ? c : '?';
            err = "unsupported version line '" + shown + "'";
        } else {
            err = "not an age file (no 'age-encryption.org/v1' line)";
        }
        return ParseStatus::Invalid;
    }

    std::size_t pos = kVersionLine.size();
    auto need_more = [&]() {
        if (buf.size() >= kMaxHeaderSize) {
            err = "header longer than " + std::to_string(kMaxHeaderSize) + " bytes";
            return ParseStatus::Invalid;
        }
        return ParseStatus::NeedMore;
    };
    for (;;) {
        std::size_t eol = buf.find('\n', pos);
        if (eol == std::string_view::npos || eol >= kMaxHeaderSize) return need_more();
        std::string_view line = buf.substr(pos, eol - pos);
        if (line.substr(0, 3) == "---") {
            if (out.stanzas.empty()) return (err = "no recipient stanza before the MAC line", ParseStatus::Invalid);
            if (line.size() != 4 + 43 || line[3] != ' ') return (err = "malformed MAC line", ParseStatus::Invalid);
            std::string mac;
            if (!b64_decode(line.substr(4), mac) || mac.size() != 32)
                return (err = "MAC is not canonical base64 of 32 bytes", ParseStatus::Invalid);
            std::copy(mac.begin(), mac.end(), out.mac.begin());
            out.mac_input.assign(buf.substr(0, pos + 3));
            header_len = eol + 1;
            return ParseStatus::Complete;
        }
        if (line.substr(0, 3) != "-> ")
            return (err = "line " + std::to_string(out.stanzas.size() + 2) + " is neither a stanza nor the MAC line",
                    ParseStatus::Invalid);
        Stanza st;
        std::string_view rest = line.substr(3);
        for (;;) {
            std::size_t sp = rest.find(' ');
            std::string_view arg = rest.substr(0, sp);
            if (arg.empty()) return (err = "empty stanza argument", ParseStatus::Invalid);
            for (char c : arg)
                if (!is_vchar(c)) return (err = "invalid character in stanza argument", ParseStatus::Invalid);
            st.args.emplace_back(arg);
            if (sp == std::string_view::npos) break;
            rest = rest.substr(sp + 1);
        }
        // Body lines: full 64-column lines, then one shorter (possibly empty) line.
        std::string body_b64;
        pos = eol + 1;
        for (;;) {
            std::size_t bol = buf.find('\n', pos);
            if (bol == std::string_view::npos || bol >= kMaxHeaderSize) return need_more();
            std::string_view bl = buf.substr(pos, bol - pos);
            if (bl.size() > 64) return (err = "stanza body line longer than 64 columns", ParseStatus::Invalid);
            for (char c : bl)
                if (!is_b64_char(c)) return (err = "invalid character in stanza body", ParseStatus::Invalid);
            body_b64.append(bl);
            pos = bol + 1;
            if (bl.size() < 64) break;
        }
        if (!b64_decode(body_b64, st.body)) return (err = "stanza body is not canonical base64", ParseStatus::Invalid);
        out.stanzas.push_back(std::move(st));
    }
}

std::string serialize_mac_input(const std::vector<Stanza>& stanzas) {
    std::string out(kVersionLine);
    for (const Stanza& st : stanzas) {
        out += "->";
        for (const std::string& a : st.args) out += " " + a;
        out += "\n";
        std::string b = b64_encode(st.body);
        std::size_t i = 0;
        for (; b.size() - i >= 64; i += 64) out.append(b, i, 64).push_back('\n');
        out.append(b, i, std::string::npos).push_back('\n');  // the short (maybe empty) last line
    }
    out += "---";
    return out;
}

Key32 header_mac(std::string_view file_key, std::string_view mac_input) {
    Key32 key = hkdf_sha256_32(file_key, "", "header");
    Key32 mac = hmac_sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), mac_input);
    wipe(key.data(), key.size());
    return mac;
}

std::string serialize_header(const std::vector<Stanza>& stanzas, std::string_view file_key) {
    std::string h = serialize_mac_input(stanzas);
    Key32 mac = header_mac(file_key, h);
    h += " " + b64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size())) + "\n";
    return h;
}

}  // namespace hostsync::age
