// Fuzz target: the age v1 header parser (host/age_header.*) and the decryptor behind it
// (host/age_keys.*, host/age_stream.*).
//
// The decryptor holds the secret key of tests/fuzz/corpus/age's X25519 seeds and the
// passphrase of its scrypt seeds (work factor 10, so a mutated header stays cheap), so a
// mutation of a real file gets past the header MAC into the payload code. Properties:
//  - a header that parses re-serializes to exactly the bytes its MAC covers, its stanza
//    bodies re-encode to the same base64, and no proper prefix of it is "invalid"
//    (a header arriving in pieces is "need more" until it is complete);
//  - decrypting the input in one write and in irregular small writes gives the same
//    result: the same plaintext, the same success or the same error.
#include <algorithm>
#include <string>
#include <vector>

#include "age_header.hpp"
#include "age_keys.hpp"
#include "age_stream.hpp"
#include "fuzz_support.hpp"

namespace {

namespace age = hostsync::age;

// The fuzz corpus' key (recipient age1qarff7ktvz6mgqm5cegxemqgmzqjd7vatdg3wmzjtps3y0pmy4hsw9988f)
// and passphrase (tests/fuzz/make_corpus.sh); test material only, never used for anything else.
constexpr const char* kIdentity = "AGE-SECRET-KEY-1C9YN60WK6X5A6MQV7QMNLS5UPF8RFCRQFAD4ZEKP7ZE5Q4C2EDGSKQRJ8P";
constexpr const char* kPassphrase = "fuzz";
constexpr int kMaxWorkFactor = 10;

const std::vector<age::Identity>& identities() {
    static const std::vector<age::Identity> ids = [] {
        std::vector<age::Identity> v(1);
        std::string err;
        if (!age::parse_identity(kIdentity, v[0], err)) fuzz::property_failed("the fuzz identity parses", err, "");
        return v;
    }();
    return ids;
}

const std::vector<age::Identity>& passphrase() {
    static const std::vector<age::Identity> ids{age::scrypt_identity(kPassphrase, kMaxWorkFactor)};
    return ids;
}

void check_header(std::string_view input) {
    age::Header h;
    std::size_t len = 0;
    std::string err;
    if (age::parse_header(input, h, len, err) != age::ParseStatus::Complete) return;
    fuzz::expect(len <= input.size(), "the header is inside the input");
    fuzz::expect_equal("a parsed header re-serializes to the bytes its MAC covers", fuzz::show(h.mac_input),
                       fuzz::show(age::serialize_mac_input(h.stanzas)));
    fuzz::expect(input.substr(0, h.mac_input.size()) == h.mac_input, "mac_input is the start of the input");
    for (const auto& s : h.stanzas) {
        std::string back;
        fuzz::expect(age::b64_decode(age::b64_encode(s.body), back) && back == s.body, "stanza bodies round-trip");
    }
    std::size_t step = std::max<std::size_t>(1, len / 64);  // up to 64 prefixes, all of a short header
    for (std::size_t n = 0; n < len; n += step) {
        age::Header part;
        std::size_t part_len = 0;
        age::ParseStatus st = age::parse_header(input.substr(0, n), part, part_len, err);
        fuzz::expect(st == age::ParseStatus::NeedMore, "a proper prefix of a valid header needs more",
                     std::to_string(n) + " of " + std::to_string(len) + ": " + err);
    }
}

struct Outcome {
    bool ok = false;
    std::string error;
    std::string plaintext;
    std::string describe() const {
        return (ok ? std::string("ok") : "error: " + error) + ", " + std::to_string(plaintext.size()) + " bytes";
    }
};

// step 0: one write; otherwise writes of varying sizes around `step`.
Outcome decrypt(std::string_view input, const std::vector<age::Identity>& ids, std::size_t step) {
    age::StringSink out;
    age::Decryptor d(ids, out);
    Outcome r;
    std::string err;
    bool ok = true;
    for (std::size_t pos = 0, i = 0; ok && pos < input.size(); ++i) {
        std::size_t n = step == 0 ? input.size() : std::min(input.size() - pos, 1 + (i * 31 + step) % (2 * step));
        ok = d.write(input.substr(pos, n), err);
        pos += n;
    }
    if (ok) ok = d.finish(err);
    r.ok = ok;
    r.error = ok ? "" : std::string(age::error_kind_name(d.error_kind())) + ": " + err;
    r.plaintext = std::move(out.data);
    return r;
}

void check_decrypt(std::string_view input, const std::vector<age::Identity>& ids) {
    Outcome whole = decrypt(input, ids, 0);
    for (std::size_t step : {std::size_t{7}, std::size_t{4099}}) {
        Outcome pieces = decrypt(input, ids, step);
        fuzz::expect_equal("decrypting in pieces gives the same outcome", whole.describe(), pieces.describe());
        fuzz::expect(whole.plaintext == pieces.plaintext, "decrypting in pieces gives the same plaintext");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    check_header(input);
    check_decrypt(input, identities());
    if (input.find("scrypt") != std::string_view::npos) check_decrypt(input, passphrase());
    return 0;
}
