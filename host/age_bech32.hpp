#pragma once
// Bech32 (BIP 173) as the age spec uses it: no length limit on the data part, all
// lowercase or all uppercase (the checksum is over the lowercase form), 8-bit data
// regrouped into 5-bit words with zero padding.
#include <string>
#include <string_view>

namespace hostsync::age::bech32 {

// Encodes bytes under a human-readable part; the result is lowercase, or uppercase
// when `upper` (age identities are written "AGE-SECRET-KEY-1...").
std::string encode(std::string_view hrp, std::string_view data, bool upper = false);

// Decodes a Bech32 string: hrp_out gets the lowercase human-readable part, data_out the
// bytes. False with err ("bech32: invalid checksum", "bech32: mixed case", ...) otherwise.
bool decode(std::string_view text, std::string& hrp_out, std::string& data_out, std::string& err);

}  // namespace hostsync::age::bech32
