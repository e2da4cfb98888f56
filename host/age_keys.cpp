#include "age_keys.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "age_bech32.hpp"

namespace hostsync::age {

namespace {

constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
const unsigned char kZeroNonce[12] = {0};

std::string_view view(const Key32& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }

Key32 to_key(std::string_view s) {
    Key32 k;
    std::memcpy(k.data(), s.data(), k.size());
    return k;
}

// ^[1-9][0-9]*$, value in 1..max (anything longer than two digits is out of range anyway).
bool parse_work_factor(std::string_view s, int& out) {
    if (s.empty() || s.size() > 2 || s[0] < '1' || s[0] > '9') return false;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

}  // namespace

const char* error_kind_name(ErrorKind k) {
    switch (k) {
        case ErrorKind::None: return "none";
        case ErrorKind::Header: return "header";
        case ErrorKind::NoMatch: return "no_match";
        case ErrorKind::Hmac: return "hmac";
        case ErrorKind::Payload: return "payload";
        case ErrorKind::Io: return "io";
    }
    return "?";
}

std::string encode_recipient(const Key32& public_key) { return bech32::encode("age", view(public_key)); }

std::string encode_identity(const Key32& secret) { return bech32::encode("AGE-SECRET-KEY-", view(secret), true); }

bool parse_recipient(std::string_view text, Recipient& out, std::string& err) {
    std::string hrp, data;
    if (!bech32::decode(text, hrp, data, err)) return (err = "invalid recipient: " + err, false);
    if (hrp != "age") return (err = "invalid recipient: not an X25519 recipient (age1...)", false);
    if (data.size() != 32) return (err = "invalid recipient: wrong key length", false);
    out = Recipient{};
    out.kind = Recipient::X25519;
    out.public_key = to_key(data);
    return true;
}

bool parse_identity(std::string_view text, Identity& out, std::string& err) {
    std::string hrp, data;
    if (!bech32::decode(text, hrp, data, err)) return (err = "invalid identity: " + err, false);
    if (hrp != "age-secret-key-") {
        wipe(data.data(), data.size());
        return (err = "invalid identity: not an X25519 identity (AGE-SECRET-KEY-1...)", false);
    }
    if (data.size() != 32) return (err = "invalid identity: wrong key length", false);
    out = Identity{};
    out.kind = Identity::X25519;
    out.secret = to_key(data);
    wipe(data.data(), data.size());
    out.public_key = x25519_base(out.secret);
    return true;
}

Identity scrypt_identity(std::string_view passphrase, int max_work_factor) {
    Identity id;
    id.kind = Identity::Scrypt;
    id.passphrase.assign(passphrase);
    id.max_work_factor = max_work_factor;
    return id;
}

Recipient scrypt_recipient(std::string_view passphrase, int work_factor) {
    Recipient r;
    r.kind = Recipient::Scrypt;
    r.passphrase.assign(passphrase);
    r.work_factor = work_factor;
    return r;
}

void keygen(std::string& identity, std::string& recipient) {
    Key32 secret;
    random_bytes(secret.data(), secret.size());
    identity = encode_identity(secret);
    recipient = encode_recipient(x25519_base(secret));
    wipe(secret.data(), secret.size());
}

Stanza wrap_file_key(const Recipient& r, std::string_view file_key) {
    Stanza st;
    if (r.kind == Recipient::X25519) {
        Key32 eph;
        random_bytes(eph.data(), eph.size());
        Key32 share = x25519_base(eph), shared;
        if (!x25519(eph, r.public_key, shared)) throw std::runtime_error("X25519 recipient is a low-order point");
        wipe(eph.data(), eph.size());
        std::string salt = std::string(view(share)) + std::string(view(r.public_key));
        Key32 wrap = hkdf_sha256_32(view(shared), salt, kX25519Label);
        wipe(shared.data(), shared.size());
        st.args = {"X25519", b64_encode(view(share))};
        st.body = aead_seal(wrap, kZeroNonce, file_key);
        wipe(wrap.data(), wrap.size());
    } else {
        std::string salt = random_string(16);
        Key32 wrap;
        std::string err;
        if (!scrypt32(r.passphrase, std::string(kScryptLabel) + salt, r.work_factor, wrap, err))
            throw std::runtime_error(err);
        st.args = {"scrypt", b64_encode(salt), std::to_string(r.work_factor)};
        st.body = aead_seal(wrap, kZeroNonce, file_key);
        wipe(wrap.data(), wrap.size());
    }
    return st;
}

ErrorKind unwrap_file_key(const Header& h, const std::vector<Identity>& ids, std::string& file_key, std::string& err) {
    // The work-factor limit: the highest of the passphrase identities' limits, or age's
    // default when there is none (a costly stanza is refused before anything is tried).
    int max_wf = 0;
    for (const Identity& id : ids)
        if (id.kind == Identity::Scrypt) max_wf = std::max(max_wf, id.max_work_factor);
    if (max_wf == 0) max_wf = kDefaultMaxWorkFactor;

    // Syntax of the stanzas we know, before any key is tried.
    struct Parsed {
        Key32 share{};
        std::string salt;
        int wf = 0;
    };
    std::vector<Parsed> parsed(h.stanzas.size());
    bool has_scrypt = false;
    for (std::size_t i = 0; i < h.stanzas.size(); ++i) {
        const Stanza& st = h.stanzas[i];
        const std::string where = "stanza " + std::to_string(i + 1) + " (" + st.args[0] + "): ";
        if (st.args[0] == "X25519") {
            std::string share;
            if (st.args.size() != 2) return (err = where + "expected 1 argument", ErrorKind::Header);
            if (!b64_decode(st.args[1], share) || share.size() != 32)
                return (err = where + "share is not canonical base64 of 32 bytes", ErrorKind::Header);
            if (st.body.size() != 32) return (err = where + "body is not 32 bytes", ErrorKind::Header);
            parsed[i].share = to_key(share);
        } else if (st.args[0] == "scrypt") {
            has_scrypt = true;
            if (st.args.size() != 3) return (err = where + "expected 2 arguments", ErrorKind::Header);
            if (!b64_decode(st.args[1], parsed[i].salt) || parsed[i].salt.size() != 16)
                return (err = where + "salt is not canonical base64 of 16 bytes", ErrorKind::Header);
            if (!parse_work_factor(st.args[2], parsed[i].wf) || parsed[i].wf > 40)
                return (err = where + "invalid work factor '" + st.args[2].substr(0, 20) + "'", ErrorKind::Header);
            if (parsed[i].wf > max_wf)
                return (err = where + "work factor 2^" + std::to_string(parsed[i].wf) + " exceeds the limit 2^" +
                              std::to_string(max_wf),
                        ErrorKind::Header);
            if (st.body.size() != 32) return (err = where + "body is not 32 bytes", ErrorKind::Header);
        }
    }
    if (has_scrypt && h.stanzas.size() != 1)
        return (err = "an scrypt stanza must be the only stanza in the header", ErrorKind::Header);

    std::string out;
    for (const Identity& id : ids) {
        for (std::size_t i = 0; i < h.stanzas.size(); ++i) {
            const Stanza& st = h.stanzas[i];
            Key32 wrap;
            if (id.kind == Identity::X25519 && st.args[0] == "X25519") {
                Key32 shared;
                if (!x25519(id.secret, parsed[i].share, shared))
                    return (err = "stanza " + std::to_string(i + 1) + " (X25519): share is a low-order point",
                            ErrorKind::Header);
                std::string salt = std::string(view(parsed[i].share)) + std::string(view(id.public_key));
                wrap = hkdf_sha256_32(view(shared), salt, kX25519Label);
                wipe(shared.data(), shared.size());
            } else if (id.kind == Identity::Scrypt && st.args[0] == "scrypt") {
                std::string e;
                if (parsed[i].wf > id.max_work_factor)
                    return (err = "scrypt work factor 2^" + std::to_string(parsed[i].wf) + " exceeds the limit 2^" +
                                  std::to_string(id.max_work_factor),
                            ErrorKind::Header);
                if (!scrypt32(id.passphrase, std::string(kScryptLabel) + parsed[i].salt, parsed[i].wf, wrap, e))
                    return (err = e, ErrorKind::Header);
            } else {
                continue;
            }
            bool ok = aead_open(wrap, kZeroNonce, st.body, out);
            wipe(wrap.data(), wrap.size());
            if (ok && out.size() == kFileKeySize) {
                file_key = std::move(out);
                return ErrorKind::None;
            }
        }
    }
    err = "no identity matches any recipient stanza (wrong key or passphrase)";
    return ErrorKind::NoMatch;
}

}  // namespace hostsync::age
