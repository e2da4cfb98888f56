#pragma once
// age recipients and identities (c2sp.org/age, "Native recipient types"): X25519 keys in
// their Bech32 encodings (`age1...`, `AGE-SECRET-KEY-1...`), scrypt passphrases, and the
// wrapping and unwrapping of the 16-byte file key in recipient stanzas.
#include <string>
#include <string_view>
#include <vector>

#include "age_crypto.hpp"
#include "age_header.hpp"

namespace hostsync::age {

inline constexpr std::size_t kFileKeySize = 16;
inline constexpr int kDefaultWorkFactor = 18;     // what `age -p` writes
inline constexpr int kDefaultMaxWorkFactor = 22;  // what age accepts by default (4 GiB of memory)

// How a decryption failed; the same classes as the CCTV test vectors' `expect` values.
enum class ErrorKind { None, Header, NoMatch, Hmac, Payload, Io };
const char* error_kind_name(ErrorKind k);  // "header", "no_match", "hmac", "payload", "io"

struct Recipient {
    enum Kind { X25519, Scrypt } kind = X25519;
    Key32 public_key{};
    std::string passphrase;
    int work_factor = kDefaultWorkFactor;  // log2(N)
};

struct Identity {
    enum Kind { X25519, Scrypt } kind = X25519;
    Key32 secret{};
    Key32 public_key{};
    std::string passphrase;
    int max_work_factor = kDefaultMaxWorkFactor;
    ~Identity() { wipe(secret.data(), secret.size()); }
    Identity() = default;
    Identity(const Identity&) = default;
    Identity& operator=(const Identity&) = default;
};

std::string encode_recipient(const Key32& public_key);                  // age1...
std::string encode_identity(const Key32& secret);                       // AGE-SECRET-KEY-1...
bool parse_recipient(std::string_view text, Recipient& out, std::string& err);
bool parse_identity(std::string_view text, Identity& out, std::string& err);
Identity scrypt_identity(std::string_view passphrase, int max_work_factor = kDefaultMaxWorkFactor);
Recipient scrypt_recipient(std::string_view passphrase, int work_factor = kDefaultWorkFactor);

// A fresh X25519 identity and its recipient, both encoded.
void keygen(std::string& identity, std::string& recipient);

// One stanza wrapping file_key for r (fresh ephemeral secret or salt each call).
Stanza wrap_file_key(const Recipient& r, std::string_view file_key);

// Finds the file key in a parsed header: checks every X25519 and scrypt stanza's syntax
// (a malformed one is a header error even if no identity would use it), refuses scrypt
// mixed with other stanzas and work factors above the identities' limit, then tries each
// identity on each stanza of its type. Unknown stanza types are ignored.
// Returns None (file_key set), Header or NoMatch, with err.
ErrorKind unwrap_file_key(const Header& h, const std::vector<Identity>& ids, std::string& file_key, std::string& err);

}  // namespace hostsync::age
