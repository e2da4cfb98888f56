#include "age_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <stdexcept>

namespace hostsync::age {

namespace {

[[noreturn]] void openssl_failure(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

const unsigned char* bytes(std::string_view s) {
    static const unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

// Fetched once per process; EVP_*_fetch is the expensive part of a one-shot call.
EVP_KDF* hkdf_impl() {
    static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (kdf == nullptr) openssl_failure("EVP_KDF_fetch(HKDF)");
    return kdf;
}

const EVP_CIPHER* chacha_impl() {
    static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    if (c == nullptr) openssl_failure("EVP_CIPHER_fetch(ChaCha20-Poly1305)");
    return c;
}

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct KdfCtxFree {
    void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

}  // namespace

void random_bytes(unsigned char* out, std::size_t n) {
    if (n > 0 && RAND_bytes(out, static_cast<int>(n)) != 1) openssl_failure("RAND_bytes");
}

std::string random_string(std::size_t n) {
    std::string s(n, '\0');
    random_bytes(reinterpret_cast<unsigned char*>(s.data()), n);
    return s;
}

void hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, unsigned char* out,
                 std::size_t out_len) {
    std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(hkdf_impl()));
    if (!ctx) openssl_failure("EVP_KDF_CTX_new");
    OSSL_PARAM params[5];
    int i = 0;
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(bytes(ikm)), ikm.size());
    if (!salt.empty())
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(bytes(salt)), salt.size());
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<unsigned char*>(bytes(info)), info.size());
    params[i] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx.get(), out, out_len, params) != 1) openssl_failure("EVP_KDF_derive(HKDF)");
}

Key32 hkdf_sha256_32(std::string_view ikm, std::string_view salt, std::string_view info) {
    Key32 k;
    hkdf_sha256(ikm, salt, info, k.data(), k.size());
    return k;
}

Key32 hmac_sha256(std::string_view key, std::string_view data) {
    Key32 out;
    std::size_t len = 0;
    if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, bytes(key), key.size(), bytes(data), data.size(),
                  out.data(), out.size(), &len) == nullptr ||
        len != out.size())
        openssl_failure("EVP_Q_mac(HMAC-SHA256)");
    return out;
}

bool x25519(const Key32& scalar, const Key32& point, Key32& out) {
    Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
    Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, point.data(), point.size()));
    if (!priv || !peer) openssl_failure("EVP_PKEY_new_raw_*_key(X25519)");
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(priv.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) openssl_failure("EVP_PKEY_derive_init(X25519)");
    // OpenSSL's X25519 derive fails exactly when the shared secret is all zeros (a
    // low-order peer point); age requires aborting then, so that is our false.
    if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) return false;
    std::size_t len = out.size();
    if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != out.size()) return false;
    unsigned char acc = 0;
    for (unsigned char b : out) acc |= b;
    return acc != 0;  // belt and braces: never accept an all-zero secret
}

Key32 x25519_base(const Key32& scalar) {
    Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, scalar.data(), scalar.size()));
    if (!priv) openssl_failure("EVP_PKEY_new_raw_private_key(X25519)");
    Key32 pub;
    std::size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(priv.get(), pub.data(), &len) != 1 || len != pub.size())
        openssl_failure("EVP_PKEY_get_raw_public_key(X25519)");
    return pub;
}

bool scrypt32(std::string_view passphrase, std::string_view salt, int log2_n, Key32& out, std::string& err) {
    if (log2_n < 1 || log2_n > 40) return (err = "scrypt: work factor out of range", false);
    const std::uint64_t n = std::uint64_t{1} << log2_n, r = 8, p = 1;
    // OpenSSL's memory check: 128*r*p for B plus 128*r*(N+2) for V. Without maxmem it
    // refuses anything above 32 MiB, i.e. age's default work factor 18 (256 MiB).
    const std::uint64_t maxmem = 128 * r * p + 128 * r * (n + 2) + (1 << 20);
    if (EVP_PBE_scrypt(reinterpret_cast<const char*>(bytes(passphrase)), passphrase.size(), bytes(salt), salt.size(), n,
                       r, p, maxmem, out.data(), out.size()) != 1)
        return (err = "scrypt: key derivation failed (work factor 2^" + std::to_string(log2_n) + " needs " +
                      std::to_string((maxmem >> 20)) + " MiB)",
                false);
    return true;
}

std::string aead_seal(const Key32& key, const unsigned char nonce[12], std::string_view plaintext) {
    ChunkAead aead(key);
    std::string out(plaintext.size() + 16, '\0');
    aead.seal(nonce, plaintext, reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

bool aead_open(const Key32& key, const unsigned char nonce[12], std::string_view sealed, std::string& out) {
    out.clear();
    if (sealed.size() < 16) return false;
    ChunkAead aead(key);
    std::string buf(sealed.size() - 16, '\0');
    if (!aead.open(nonce, sealed, reinterpret_cast<unsigned char*>(buf.data()))) {
        wipe(buf.data(), buf.size());
        return false;
    }
    out = std::move(buf);
    return true;
}

ChunkAead::ChunkAead(const Key32& key) : key_(key) {
    enc_ = EVP_CIPHER_CTX_new();
    dec_ = EVP_CIPHER_CTX_new();
    if (enc_ == nullptr || dec_ == nullptr || EVP_EncryptInit_ex2(enc_, chacha_impl(), key.data(), nullptr, nullptr) != 1 ||
        EVP_DecryptInit_ex2(dec_, chacha_impl(), key.data(), nullptr, nullptr) != 1) {
        EVP_CIPHER_CTX_free(enc_);
        EVP_CIPHER_CTX_free(dec_);
        openssl_failure("EVP_CipherInit(ChaCha20-Poly1305)");
    }
}

ChunkAead::~ChunkAead() {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    wipe(key_.data(), key_.size());
}

void ChunkAead::seal(const unsigned char nonce[12], std::string_view in, unsigned char* out) {
    int len = 0, fin = 0;
    if (EVP_EncryptInit_ex2(enc_, nullptr, nullptr, nonce, nullptr) != 1) openssl_failure("EVP_EncryptInit_ex2(nonce)");
    if (!in.empty() && EVP_EncryptUpdate(enc_, out, &len, bytes(in), static_cast<int>(in.size())) != 1)
        openssl_failure("EVP_EncryptUpdate");
    if (EVP_EncryptFinal_ex(enc_, out + len, &fin) != 1) openssl_failure("EVP_EncryptFinal_ex");
    if (static_cast<std::size_t>(len + fin) != in.size()) openssl_failure("ChaCha20-Poly1305 short output");
    if (EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, 16, out + in.size()) != 1) openssl_failure("get tag");
}

bool ChunkAead::open(const unsigned char nonce[12], std::string_view in, unsigned char* out) {
    if (in.size() < 16) return false;
    const std::size_t n = in.size() - 16;
    unsigned char tag[16];
    std::memcpy(tag, in.data() + n, 16);
    int len = 0, fin = 0;
    if (EVP_DecryptInit_ex2(dec_, nullptr, nullptr, nonce, nullptr) != 1) openssl_failure("EVP_DecryptInit_ex2(nonce)");
    if (n > 0 && EVP_DecryptUpdate(dec_, out, &len, bytes(in), static_cast<int>(n)) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, 16, tag) != 1) openssl_failure("set tag");
    return EVP_DecryptFinal_ex(dec_, out + len, &fin) == 1 && static_cast<std::size_t>(len + fin) == n;
}

bool equal_ct(const unsigned char* a, const unsigned char* b, std::size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

void wipe(void* p, std::size_t n) { OPENSSL_cleanse(p, n); }

}  // namespace hostsync::age
