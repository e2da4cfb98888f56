#pragma once
// Hex and base64 (RFC 4648, standard alphabet, with padding). Encoders cannot fail;
// decoders are strict and say where the input went wrong, because the inputs are often
// hashes or keys copied by hand, where a silent "best effort" decode hides the mistake.
#include <cstddef>
#include <string>
#include <string_view>

namespace hostsync::codec {

// Writes 2*n lowercase hex characters to out (no terminator). Shared with sha256.cpp.
void hex_encode_to(const unsigned char* in, std::size_t n, char* out);

std::string hex_encode(std::string_view data);

// Accepts upper and lower case. Fails on an odd length or a non-hex character;
// err then reads e.g. "hex_decode: invalid character 'g' at offset 6".
bool hex_decode(std::string_view text, std::string& out, std::string& err);

std::string base64_encode(std::string_view data);

// Strict: the length must be a multiple of 4, '=' may only end the last quartet, no
// whitespace, and the unused bits before padding must be zero (so every byte string has
// exactly one accepted encoding). err names the offset of the first bad character.
bool base64_decode(std::string_view text, std::string& out, std::string& err);

}  // namespace hostsync::codec
