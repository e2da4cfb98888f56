// Doctests for the age v1 pieces: Bech32, canonical base64, header parse/serialize, the
// STREAM nonce and final-chunk logic, and known answers for the primitives (RFC 5869
// HKDF, RFC 4231 HMAC, RFC 7748 X25519) and for the spec's example key pair.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "age_bech32.hpp"
#include "age_crypto.hpp"
#include "age_file.hpp"
#include "age_header.hpp"
#include "age_keys.hpp"
#include "age_stream.hpp"
#include "codec.hpp"

using namespace hostsync;
using namespace hostsync::age;

namespace {

std::string unhex(std::string_view h) {
    std::string out, err;
    REQUIRE(codec::hex_decode(h, out, err));
    return out;
}

std::string hexs(const Key32& k) {
    return codec::hex_encode(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

Key32 key_of(std::string_view hex) {
    std::string b = unhex(hex);
    Key32 k;
    std::copy(b.begin(), b.end(), k.begin());
    return k;
}

// Encrypts `plain` to `r`, feeding it in pieces of the given sizes (cycled).
std::string encrypt_pieces(const std::string& plain, const Recipient& r, std::vector<std::size_t> sizes) {
    StringSink out;
    Encryptor enc(out);
    std::string err;
    REQUIRE(enc.start({r}, err));
    std::size_t pos = 0, i = 0;
    while (pos < plain.size()) {
        std::size_t n = std::min(sizes[i++ % sizes.size()], plain.size() - pos);
        REQUIRE(enc.write(std::string_view(plain).substr(pos, n), err));
        pos += n;
    }
    REQUIRE(enc.finish(err));
    return out.data;
}

struct Decrypted {
    ErrorKind kind;
    std::string released;  // every byte the decryptor let out
    std::string err;
};

Decrypted decrypt_pieces(const std::string& ct, const Identity& id, std::size_t piece) {
    StringSink out;
    Decryptor dec({id}, out);
    Decrypted d{ErrorKind::None, {}, {}};
    bool ok = true;
    for (std::size_t pos = 0; ok && pos < ct.size(); pos += piece)
        ok = dec.write(std::string_view(ct).substr(pos, piece), d.err);
    if (ok) ok = dec.finish(d.err);
    d.kind = ok ? ErrorKind::None : dec.error_kind();
    d.released = out.data;
    return d;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    std::mt19937 rng(42);
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

Identity test_identity() {
    Identity id;
    std::string err;
    REQUIRE(parse_identity("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", id, err));
    return id;
}

Recipient test_recipient() {
    Recipient r;
    std::string err;
    REQUIRE(parse_recipient("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", r, err));
    return r;
}

}  // namespace

TEST_CASE("HKDF-SHA-256: RFC 5869 test case 1") {
    std::string okm(42, '\0');
    hkdf_sha256(unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), unhex("000102030405060708090a0b0c"),
                unhex("f0f1f2f3f4f5f6f7f8f9"), reinterpret_cast<unsigned char*>(okm.data()), okm.size());
    CHECK(codec::hex_encode(okm) ==
          "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    // RFC 5869 test case 3: no salt, no info.
    Key32 k = hkdf_sha256_32(unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), "", "");
    CHECK(hexs(k) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d");
}

TEST_CASE("HMAC-SHA-256: RFC 4231 test case 2") {
    CHECK(hexs(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("X25519: RFC 7748 section 6.1, and the all-zero result is refused") {
    Key32 a = key_of("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    Key32 b = key_of("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    CHECK(hexs(x25519_base(a)) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    CHECK(hexs(x25519_base(b)) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    Key32 s1, s2;
    REQUIRE(x25519(a, x25519_base(b), s1));
    REQUIRE(x25519(b, x25519_base(a), s2));
    CHECK(hexs(s1) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    CHECK(s1 == s2);
    Key32 zero{}, out;
    CHECK_FALSE(x25519(a, zero, out));  // the identity point: shared secret all zeros
}

TEST_CASE("the spec's example key pair") {
    Identity id = test_identity();
    CHECK(encode_recipient(id.public_key) == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
    CHECK(encode_identity(id.secret) ==
          "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX");
    std::string err;
    Identity lower;  // Bech32 may be all lowercase too
    CHECK(parse_identity("age-secret-key-1gfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpyysjzgfpq4egaex", lower, err));
    CHECK(lower.secret == id.secret);
    Recipient r;
    CHECK_FALSE(parse_recipient("AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", r, err));
    CHECK(err.find("not an X25519 recipient") != std::string::npos);
    CHECK_FALSE(parse_identity("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", id, err));
    CHECK_FALSE(parse_recipient("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk", r, err));
    CHECK(err == "invalid recipient: bech32: invalid checksum");
}

TEST_CASE("bech32: BIP 173 vectors, case rules, padding") {
    std::string hrp, data, err;
    for (const char* ok : {"A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                           "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"}) {
        INFO(ok);
        CHECK(bech32::decode(ok, hrp, data, err));
    }
    CHECK(bech32::decode("A12UEL5L", hrp, data, err));
    CHECK(hrp == "a");
    CHECK(data.empty());
    CHECK_FALSE(bech32::decode("A12uEL5L", hrp, data, err));
    CHECK(err == "bech32: mixed case");
    CHECK_FALSE(bech32::decode("pzry9x0s0muk", hrp, data, err));  // no separator
    CHECK_FALSE(bech32::decode("1pzry9x0s0muk", hrp, data, err));  // empty hrp
    CHECK_FALSE(bech32::decode("a12uel5m", hrp, data, err));       // checksum
    CHECK_FALSE(bech32::decode("x1b4n0q5v", hrp, data, err));      // invalid data character
    // Round trips for every length 0..40, lower and upper case; no length limit.
    std::string bytes = pattern(200);
    for (std::size_t n = 0; n <= 200; n += (n < 40 ? 1 : 40)) {
        std::string in = bytes.substr(0, n);
        for (bool upper : {false, true}) {
            std::string enc = bech32::encode("test", in, upper);
            REQUIRE(bech32::decode(enc, hrp, data, err));
            CHECK(hrp == "test");
            CHECK(data == in);
        }
    }
}

TEST_CASE("canonical unpadded base64") {
    std::string out;
    CHECK(b64_encode("") == "");
    CHECK(b64_encode("f") == "Zg");
    CHECK(b64_encode("fo") == "Zm8");
    CHECK(b64_encode("foo") == "Zm9v");
    CHECK(b64_decode("Zm8", out));
    CHECK(out == "fo");
    CHECK_FALSE(b64_decode("Zm9=", out));   // padding refused
    CHECK_FALSE(b64_decode("Zm9", out));    // non-canonical: unused bits set
    CHECK_FALSE(b64_decode("Z", out));      // impossible length
    CHECK_FALSE(b64_decode("Zm8\r", out));  // CR is not base64
    std::string all = pattern(300);
    for (std::size_t n = 0; n < 70; ++n) {
        REQUIRE(b64_decode(b64_encode(all.substr(0, n)), out));
        CHECK(out == all.substr(0, n));
    }
}

TEST_CASE("header: serialize then parse, MAC, wrapping at 64 columns") {
    std::vector<Stanza> stanzas(3);
    stanzas[0].args = {"X25519", "abc"};
    stanzas[0].body = std::string(32, 'x');
    stanzas[1].args = {"example.com/grease", "!\"#$%&'()*+,-./", "~"};
    stanzas[1].body = std::string(48, 'y');  // exactly 64 base64 columns: an empty last line follows
    stanzas[2].args = {"empty"};
    std::string file_key(16, 'k');
    std::string h = serialize_header(stanzas, file_key);
    CHECK(h.rfind("age-encryption.org/v1\n-> X25519 abc\n", 0) == 0);
    CHECK(h.find("\n-> example.com/grease !\"#$%&'()*+,-./ ~\n" + b64_encode(std::string(48, 'y')) + "\n\n") !=
          std::string::npos);
    CHECK(h.find("\n-> empty\n\n---") != std::string::npos);
    Header parsed;
    std::size_t len = 0;
    std::string err;
    std::string with_payload = h + "PAYLOAD";
    REQUIRE(parse_header(with_payload, parsed, len, err) == ParseStatus::Complete);
    CHECK(len == h.size());
    REQUIRE(parsed.stanzas.size() == 3);
    CHECK(parsed.stanzas[1].args.size() == 3);
    CHECK(parsed.stanzas[1].body == std::string(48, 'y'));
    CHECK(parsed.stanzas[2].body.empty());
    CHECK(parsed.mac == header_mac(file_key, parsed.mac_input));
    CHECK(serialize_mac_input(parsed.stanzas) == parsed.mac_input);
    // Every proper prefix needs more bytes; none is invalid.
    for (std::size_t n = 0; n < h.size(); ++n) {
        Header p;
        INFO(n);
        CHECK(parse_header(std::string_view(h).substr(0, n), p, len, err) == ParseStatus::NeedMore);
    }
}

TEST_CASE("header: malformed inputs are invalid") {
    const std::string good_mac = "--- " + std::string(43, 'A') + "\n";
    auto status = [](const std::string& s) {
        Header h;
        std::size_t len;
        std::string err;
        return parse_header(s, h, len, err);
    };
    const std::string v1 = "age-encryption.org/v1\n";
    CHECK(status(v1 + "-> X25519 abc\n\n" + good_mac) == ParseStatus::Complete);
    CHECK(status("age-encryption.org/v2\n") == ParseStatus::Invalid);
    CHECK(status("age-encryption.org/v1\r\n") == ParseStatus::Invalid);
    CHECK(status("PK\x03\x04") == ParseStatus::Invalid);
    CHECK(status(v1 + good_mac) == ParseStatus::Invalid);                          // no stanza
    CHECK(status(v1 + "->X25519 abc\n\n" + good_mac) == ParseStatus::Invalid);     // no space
    CHECK(status(v1 + "-> \n\n" + good_mac) == ParseStatus::Invalid);              // no argument
    CHECK(status(v1 + "-> a  b\n\n" + good_mac) == ParseStatus::Invalid);          // empty argument
    CHECK(status(v1 + "-> a\n" + std::string(65, 'A') + "\n" + good_mac) == ParseStatus::Invalid);
    CHECK(status(v1 + "-> a\n" + std::string(64, 'A') + "\n" + good_mac) == ParseStatus::Invalid);  // no short line
    CHECK(status(v1 + "-> a\nAA\nAA\n" + good_mac) == ParseStatus::Invalid);        // two short lines
    CHECK(status(v1 + "-> a\nQUE=\n" + good_mac) == ParseStatus::Invalid);          // padding
    CHECK(status(v1 + "-> a\n\n--- " + std::string(42, 'A') + "\n") == ParseStatus::Invalid);
    CHECK(status(v1 + "-> a\n\n---" + std::string(43, 'A') + "\n") == ParseStatus::Invalid);
    CHECK(status(v1 + "-> a\n\n--- " + std::string(43, 'A') + " \n") == ParseStatus::Invalid);
    CHECK(status(v1 + "-> a\n\n--- " + std::string(42, 'A') + "B\n") == ParseStatus::Invalid);  // not canonical
}

TEST_CASE("STREAM nonce: 11-byte big-endian counter and the last flag") {
    unsigned char n[12];
    stream_nonce(0, false, n);
    CHECK(codec::hex_encode(std::string_view(reinterpret_cast<char*>(n), 12)) == "000000000000000000000000");
    stream_nonce(1, true, n);
    CHECK(codec::hex_encode(std::string_view(reinterpret_cast<char*>(n), 12)) == "000000000000000000000101");
    stream_nonce(0x0102030405060708ull, false, n);
    CHECK(codec::hex_encode(std::string_view(reinterpret_cast<char*>(n), 12)) == "000000010203040506070800");
}

TEST_CASE("STREAM: chunk layout and round trips at the chunk boundaries") {
    Identity id = test_identity();
    Recipient r = test_recipient();
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, kChunkSize - 1, kChunkSize, kChunkSize + 1, 2 * kChunkSize,
                             3 * kChunkSize + 7}) {
        INFO(size);
        std::string plain = pattern(size);
        std::string ct = encrypt_pieces(plain, r, {1, 4096, kChunkSize, 3 * kChunkSize + 5});
        Header h;
        std::size_t len = 0;
        std::string err;
        REQUIRE(parse_header(ct, h, len, err) == ParseStatus::Complete);
        // nonce, then ceil(size / 64 KiB) chunks (at least one), each with a 16-byte tag
        std::size_t chunks = size == 0 ? 1 : (size + kChunkSize - 1) / kChunkSize;
        CHECK(ct.size() == len + kNonceSize + size + chunks * kTagSize);
        for (std::size_t piece : {std::size_t{1} << 20, std::size_t{7}, kSealedChunkSize}) {
            if (piece == 7 && size > 2 * kChunkSize) continue;  // slow and adds nothing
            Decrypted d = decrypt_pieces(ct, id, piece);
            CHECK(d.kind == ErrorKind::None);
            CHECK(d.released == plain);
        }
    }
}

TEST_CASE("STREAM: truncation, extension and flag errors release only verified chunks") {
    Identity id = test_identity();
    std::string plain = pattern(2 * kChunkSize);  // two full chunks; the second is final
    std::string ct = encrypt_pieces(plain, test_recipient(), {kChunkSize});
    std::size_t body = ct.size() - 2 * kSealedChunkSize;  // header + nonce
    // Cut after the first chunk: it verifies (released) but is not final.
    Decrypted d = decrypt_pieces(ct.substr(0, body + kSealedChunkSize), id, 1 << 16);
    CHECK(d.kind == ErrorKind::Payload);
    CHECK(d.err.find("truncated") != std::string::npos);
    CHECK(d.released == plain.substr(0, kChunkSize));
    // Cut inside the second chunk: the first is released, the rest is not.
    d = decrypt_pieces(ct.substr(0, ct.size() - 1), id, 1 << 16);
    CHECK(d.kind == ErrorKind::Payload);
    CHECK(d.released == plain.substr(0, kChunkSize));
    // Data after the final chunk.
    d = decrypt_pieces(ct + "x", id, 1 << 16);
    CHECK(d.kind == ErrorKind::Payload);
    CHECK(d.err.find("data follows the final chunk") != std::string::npos);
    // An empty final chunk after a full one is refused.
    Decrypted e = decrypt_pieces(ct.substr(0, body + kSealedChunkSize) + std::string(16, '\0'), id, 1 << 16);
    CHECK(e.kind == ErrorKind::Payload);
    // Header and nonce truncation are header errors.
    CHECK(decrypt_pieces(ct.substr(0, body - kNonceSize), id, 1 << 16).kind == ErrorKind::Header);
    CHECK(decrypt_pieces(ct.substr(0, body - 1), id, 1 << 16).kind == ErrorKind::Header);
    // Nonce only, no chunk at all.
    CHECK(decrypt_pieces(ct.substr(0, body), id, 1 << 16).kind == ErrorKind::Payload);
}

TEST_CASE("wrong key, wrong passphrase, header MAC") {
    std::string ct = encrypt_string("hello", {test_recipient()});
    std::string out, err;
    Identity other;
    std::string other_id, other_rc;
    keygen(other_id, other_rc);
    REQUIRE(parse_identity(other_id, other, err));
    CHECK(decrypt_string(ct, {other}, out, err) == ErrorKind::NoMatch);
    CHECK(err.find("authentication failed") != std::string::npos);
    CHECK(decrypt_string(ct, {other, test_identity()}, out, err) == ErrorKind::None);
    CHECK(out == "hello");

    std::string pct = encrypt_string("pw", {scrypt_recipient("correct horse", 10)});
    CHECK(pct.find("-> scrypt ") != std::string::npos);
    CHECK(decrypt_string(pct, {scrypt_identity("wrong")}, out, err) == ErrorKind::NoMatch);
    CHECK(decrypt_string(pct, {scrypt_identity("correct horse")}, out, err) == ErrorKind::None);
    CHECK(out == "pw");
    CHECK(decrypt_string(pct, {scrypt_identity("correct horse", 9)}, out, err) == ErrorKind::Header);
    CHECK(err.find("exceeds the limit") != std::string::npos);

    // Change the stanza order (the MAC covers it): the key still unwraps, the MAC fails.
    std::string fk = random_string(16);
    std::vector<Stanza> st = {wrap_file_key(test_recipient(), fk), wrap_file_key(test_recipient(), fk)};
    std::string h1 = serialize_header(st, fk);
    std::swap(st[0], st[1]);
    std::string h2 = serialize_mac_input(st) + h1.substr(h1.rfind("---") + 3);
    Header parsed;
    std::size_t len;
    REQUIRE(parse_header(h2, parsed, len, err) == ParseStatus::Complete);
    std::string key;
    REQUIRE(unwrap_file_key(parsed, {test_identity()}, key, err) == ErrorKind::None);
    CHECK(key == fk);
    CHECK(header_mac(key, parsed.mac_input) != parsed.mac);
    StringSink sink;
    Decryptor dec({test_identity()}, sink);
    CHECK_FALSE(dec.write(h2 + std::string(16, 'n'), err));
    CHECK(dec.error_kind() == ErrorKind::Hmac);
}

TEST_CASE("Encryptor refuses a passphrase mixed with recipients") {
    StringSink out;
    Encryptor enc(out);
    std::string err;
    CHECK_FALSE(enc.start({test_recipient(), scrypt_recipient("x", 10)}, err));
    CHECK_FALSE(enc.start({}, err));
}

// Found by tests/fuzz/age_fuzz.cpp: a header that breaks before its MAC line was reported
// as "file ends inside the header" when it arrived in small writes, and as what is wrong
// with it when it arrived at once; a header over the size limit and an unsupported
// version line (named as far as it had arrived) likewise.
TEST_CASE("Decryptor: a bad header gets the same error however it is split into writes") {
    const std::string stanza = "age-encryption.org/v1\n-> X25519 xdVNItEkk3pDxBybeqqft1S2uoVrSbEkI2RNWXNs/LE4G1Nt\n";
    const std::string broken_body = stanza + "x11/rgskKVUuDY\n\xbb\x9a\"'";
    const std::string huge = stanza + std::string(kMaxHeaderSize, 'A') + "!";
    const std::string version = "age-encryption.org/" + std::string(70, '\xbb') + "v2\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {broken_body, "age: invalid header: stanza body is not canonical base64"},
        {version, "age: invalid header: unsupported version line 'age-encryption.org/" + std::string(61, '?') + "'"},
        {huge, "age: invalid header: header longer than 1048576 bytes"}};
    for (const auto& [ct, message] : cases) {
        Decrypted whole = decrypt_pieces(ct, test_identity(), ct.size());
        CHECK(whole.kind == ErrorKind::Header);
        CHECK(whole.err == message);
        for (std::size_t piece : {1, 7, 4096}) {
            if (ct.size() > 100000 && piece < 4096) continue;  // byte-wise 1 MiB: slow, proves nothing more
            Decrypted split = decrypt_pieces(ct, test_identity(), piece);
            INFO("piece " << piece);
            CHECK(split.kind == whole.kind);
            CHECK(split.err == whole.err);
        }
    }
}
