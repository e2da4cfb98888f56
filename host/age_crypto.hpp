#pragma once
// The cryptographic building blocks of the age format, over OpenSSL 3 EVP: random bytes,
// HKDF-SHA-256 (RFC 5869), HMAC-SHA-256 (RFC 2104), X25519 (RFC 7748), scrypt (RFC
// 7914) and ChaCha20-Poly1305 (RFC 8439). No age framing here (see age_header.hpp,
// age_keys.hpp, age_stream.hpp). Functions return false (or throw std::runtime_error
// where a failure can only mean a broken OpenSSL) and never log.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace hostsync::age {

using Key32 = std::array<unsigned char, 32>;

// CSPRNG output (RAND_bytes); throws if the generator fails.
void random_bytes(unsigned char* out, std::size_t n);
std::string random_string(std::size_t n);

// HKDF-SHA-256 extract-and-expand; an empty salt means no salt (RFC 5869: HashLen zeros).
void hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, unsigned char* out,
                 std::size_t out_len);
Key32 hkdf_sha256_32(std::string_view ikm, std::string_view salt, std::string_view info);

Key32 hmac_sha256(std::string_view key, std::string_view data);

// X25519(scalar, point). False if the result is the all-zero value (a low-order point),
// which age requires to abort on.
bool x25519(const Key32& scalar, const Key32& point, Key32& out);
// X25519(scalar, basepoint): the public key of a secret.
Key32 x25519_base(const Key32& scalar);

// scrypt with r = 8, p = 1, 32-byte output. False (err says why) if OpenSSL refuses,
// e.g. for lack of memory.
bool scrypt32(std::string_view passphrase, std::string_view salt, int log2_n, Key32& out, std::string& err);

// One-shot ChaCha20-Poly1305 with a 12-byte nonce and empty AAD: seal returns
// ciphertext || tag; open returns false if the tag does not verify (out is then empty).
std::string aead_seal(const Key32& key, const unsigned char nonce[12], std::string_view plaintext);
bool aead_open(const Key32& key, const unsigned char nonce[12], std::string_view sealed, std::string& out);

// A ChaCha20-Poly1305 context keyed once and reused for every chunk of a stream (no
// per-chunk fetch or allocation). out must have room for in.size() + 16 (seal) or
// in.size() - 16 (open). open() writes plaintext to out even when the tag is wrong, so
// callers decrypt into a private buffer and release it only after open() returned true.
class ChunkAead {
public:
    explicit ChunkAead(const Key32& key);
    ~ChunkAead();
    ChunkAead(const ChunkAead&) = delete;
    ChunkAead& operator=(const ChunkAead&) = delete;

    void seal(const unsigned char nonce[12], std::string_view in, unsigned char* out);
    bool open(const unsigned char nonce[12], std::string_view in, unsigned char* out);

private:
    EVP_CIPHER_CTX* enc_ = nullptr;
    EVP_CIPHER_CTX* dec_ = nullptr;
    Key32 key_;
};

// Constant-time comparison of equal-length buffers.
bool equal_ct(const unsigned char* a, const unsigned char* b, std::size_t n);

// Overwrites memory that held a secret (OPENSSL_cleanse).
void wipe(void* p, std::size_t n);

}  // namespace hostsync::age
