#pragma once
// The textual header of an age v1 file (c2sp.org/age, "Header"):
//
//     age-encryption.org/v1
//     -> X25519 <base64 ephemeral share>
//     <base64 body, wrapped at 64 columns, ending with a line shorter than 64>
//     --- <base64 HMAC-SHA-256 over everything up to and including "---">
//
// Base64 here is the standard alphabet without padding, and must be canonical (unused
// bits zero); '=' and non-alphabet characters (CR included) are refused.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "age_crypto.hpp"

namespace hostsync::age {

inline constexpr std::string_view kVersionLine = "age-encryption.org/v1\n";
inline constexpr std::size_t kMaxHeaderSize = 1 << 20;  // refuse bigger headers (hostile input)

struct Stanza {
    std::vector<std::string> args;  // args[0] is the type ("X25519", "scrypt", ...)
    std::string body;               // decoded bytes
};

struct Header {
    std::vector<Stanza> stanzas;
    std::string mac_input;  // the header bytes the MAC covers: up to and including "---"
    Key32 mac{};
};

std::string b64_encode(std::string_view data);               // unpadded
bool b64_decode(std::string_view text, std::string& out);    // canonical, unpadded only

enum class ParseStatus { Complete, NeedMore, Invalid };

// Parses the header at the start of `buf`. Complete: `header_len` is its size including
// the MAC line's LF, and the payload starts there. NeedMore: `buf` ends inside the
// header (and nothing seen so far is invalid). Invalid: err says what is wrong.
ParseStatus parse_header(std::string_view buf, Header& out, std::size_t& header_len, std::string& err);

// The header without its MAC: version line and stanzas, ending with "---".
std::string serialize_mac_input(const std::vector<Stanza>& stanzas);
// HMAC-SHA-256 keyed with HKDF(file key, salt = "", info = "header").
Key32 header_mac(std::string_view file_key, std::string_view mac_input);
// mac_input + " " + base64(mac) + "\n".
std::string serialize_header(const std::vector<Stanza>& stanzas, std::string_view file_key);

}  // namespace hostsync::age
