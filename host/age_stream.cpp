#include "age_stream.hpp"

#include <cstring>

#include "failpoint.hpp"

namespace hostsync::age {

void stream_nonce(std::uint64_t counter, bool last, unsigned char out[12]) {
    out[0] = out[1] = out[2] = 0;  // the counter is 11 bytes; 64 bits of it are plenty
    for (int i = 0; i < 8; ++i) out[3 + i] = static_cast<unsigned char>(counter >> (8 * (7 - i)));
    out[11] = last ? 1 : 0;
}

Key32 payload_key(std::string_view file_key, std::string_view nonce) { return hkdf_sha256_32(file_key, nonce, "payload"); }

// --- Encryptor -------------------------------------------------------------

Encryptor::~Encryptor() { wipe(pending_.data(), pending_.size()); }

bool Encryptor::fail(const std::string& e, std::string& err) {
    failed_ = e;
    err = e;
    return false;
}

bool Encryptor::start(const std::vector<Recipient>& recipients, std::string& err) {
    if (aead_) return (err = "age: encryptor already started", false);
    if (recipients.empty()) return (err = "age: no recipients", false);
    for (const Recipient& r : recipients)
        if (r.kind == Recipient::Scrypt && recipients.size() != 1)
            return (err = "age: a passphrase cannot be combined with other recipients", false);
    std::string file_key = random_string(kFileKeySize);
    std::vector<Stanza> stanzas;
    for (const Recipient& r : recipients) stanzas.push_back(wrap_file_key(r, file_key));
    std::string head = serialize_header(stanzas, file_key);
    std::string nonce = random_string(kNonceSize);
    Key32 key = payload_key(file_key, nonce);
    wipe(file_key.data(), file_key.size());
    aead_ = std::make_unique<ChunkAead>(key);
    wipe(key.data(), key.size());
    head += nonce;
    pending_.reserve(kChunkSize);
    sealed_.resize(kSealedChunkSize);
    std::string e;
    if (!out_.write(head, e)) return fail(e, err);
    return true;
}

bool Encryptor::seal_chunk(std::string_view plain, bool last, std::string& err) {
    unsigned char nonce[12];
    stream_nonce(counter_++, last, nonce);
    aead_->seal(nonce, plain, reinterpret_cast<unsigned char*>(sealed_.data()));
    std::string e;
    if (!out_.write(std::string_view(sealed_.data(), plain.size() + kTagSize), e)) return fail(e, err);
    failpoint::hit("age_chunk");
    return true;
}

bool Encryptor::write(std::string_view data, std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!aead_ || finished_) return (err = "age: write on an encryptor that is not open", false);
    bytes_ += data.size();
    // A full chunk is sealed only once more data follows: the final chunk may be full.
    if (!pending_.empty()) {
        std::size_t take = std::min(data.size(), kChunkSize - pending_.size());
        pending_.append(data.substr(0, take));
        data.remove_prefix(take);
        if (data.empty()) return true;
        if (!seal_chunk(pending_, false, err)) return false;
        pending_.clear();
    }
    while (data.size() > kChunkSize) {  // straight from the caller's buffer, no copy
        if (!seal_chunk(data.substr(0, kChunkSize), false, err)) return false;
        data.remove_prefix(kChunkSize);
    }
    pending_.assign(data);
    return true;
}

bool Encryptor::finish(std::string& err) {
    if (!failed_.empty()) return (err = failed_, false);
    if (!aead_ || finished_) return (err = "age: finish on an encryptor that is not open", false);
    finished_ = true;
    if (!seal_chunk(pending_, true, err)) return false;
    wipe(pending_.data(), pending_.size());
    pending_.clear();
    std::string e;
    if (!out_.finish(e)) return fail(e, err);
    return true;
}

// --- Decryptor -------------------------------------------------------------

Decryptor::~Decryptor() {
    wipe(file_key_.data(), file_key_.size());
    wipe(plain_.data(), plain_.size());
}

bool Decryptor::fail(ErrorKind k, const std::string& e, std::string& err) {
    state_ = State::Failed;
    kind_ = k;
    failed_ = k == ErrorKind::Io ? e : "age: " + e;
    err = failed_;
    pending_.clear();
    return false;
}

// The header stops arriving (the limit, the end of the file) before its MAC line: report
// what is wrong with the bytes seen if anything is, as a parse of them at once would, so
// the message does not depend on how the file was split into writes (found by fuzzing).
bool Decryptor::fail_header(const std::string& otherwise, std::string& err) {
    Header h;
    std::size_t len = 0;
    std::string e;
    if (parse_header(pending_, h, len, e) == ParseStatus::Invalid)
        return fail(ErrorKind::Header, "invalid header: " + e, err);
    return fail(ErrorKind::Header, otherwise, err);
}

bool Decryptor::on_header(std::string& err) {
    // Parse only when the MAC line may have arrived ("\n---" seen), once the version line
    // was checked, so a header trickling in costs linear time.
    if (version_checked_) {
        if (pending_.find("\n---", scan_from_) == std::string::npos) {
            scan_from_ = pending_.size() > 4 ? pending_.size() - 4 : 0;
            if (pending_.size() >= kMaxHeaderSize)
                return fail_header("invalid header: longer than " + std::to_string(kMaxHeaderSize) + " bytes", err);
            return true;
        }
    }
    Header h;
    std::size_t len = 0;
    std::string e;
    switch (parse_header(pending_, h, len, e)) {
        case ParseStatus::NeedMore:
            version_checked_ = pending_.size() >= kVersionLine.size();
            return true;
        case ParseStatus::Invalid: return fail(ErrorKind::Header, "invalid header: " + e, err);
        case ParseStatus::Complete: break;
    }
    if (ErrorKind k = unwrap_file_key(h, ids_, file_key_, e); k != ErrorKind::None) {
        return fail(k, k == ErrorKind::NoMatch ? "authentication failed: " + e : "invalid header: " + e, err);
    }
    Key32 mac = header_mac(file_key_, h.mac_input);
    if (!equal_ct(mac.data(), h.mac.data(), mac.size()))
        return fail(ErrorKind::Hmac, "authentication failed: header MAC mismatch (the header was modified)", err);
    pending_.erase(0, len);
    state_ = State::Nonce;
    return true;
}

bool Decryptor::open_chunk(std::string_view sealed, bool more_follows, std::string& err) {
    // A chunk is released once its tag verifies under either flag, like the reference
    // implementation; what the flag says about the stream's end is checked right after,
    // so truncation and trailing data still fail (after the authentic chunk).
    unsigned char nonce[12];
    auto* plain = reinterpret_cast<unsigned char*>(plain_.data());
    bool last = false, ok = false;
    if (sealed.size() == kSealedChunkSize) {  // only a full chunk can be non-final
        stream_nonce(counter_, false, nonce);
        ok = aead_->open(nonce, sealed, plain);
    }
    if (!ok && sealed.size() >= kTagSize) {
        stream_nonce(counter_, true, nonce);
        ok = last = aead_->open(nonce, sealed, plain);
    }
    const std::string chunk = "chunk " + std::to_string(counter_ + 1);
    if (!ok) {
        wipe(plain_.data(), plain_.size());
        return fail(ErrorKind::Payload,
                    "authentication failed: " + chunk +
                        (more_follows ? " does not verify (the payload was modified)"
                                      : " does not verify as the final chunk (the file is truncated or modified)"),
                    err);
    }
    ++counter_;
    const std::size_t n = sealed.size() - kTagSize;
    bytes_ += n;
    std::string e;
    if (n > 0 && !out_.write(std::string_view(plain_.data(), n), e)) return fail(ErrorKind::Io, e, err);
    if (last && more_follows)
        return fail(ErrorKind::Payload, "authentication failed: data follows the final chunk (" + chunk + ")", err);
    if (!last && !more_follows)
        return fail(ErrorKind::Payload,
                    "authentication failed: the file is truncated (" + chunk + " is not the final chunk)", err);
    return true;
}

bool Decryptor::write(std::string_view data, std::string& err) {
    if (state_ == State::Failed) return (err = failed_, false);
    if (state_ == State::Done) return (err = "age: write after finish", false);
    if (state_ == State::Header) {
        // Feed the header in pieces so a hostile "header" never grows past its limit.
        while (state_ == State::Header && !data.empty()) {
            std::size_t take = std::min<std::size_t>(data.size(), 4096);
            pending_.append(data.substr(0, take));
            data.remove_prefix(take);
            if (!on_header(err)) return false;
        }
        if (state_ == State::Header) return true;
        // pending_ now holds what followed the header: go on with it.
        std::string rest = std::move(pending_);
        pending_.clear();
        rest.append(data);
        return write(rest, err);
    }
    if (state_ == State::Nonce) {
        std::size_t take = std::min(data.size(), kNonceSize - pending_.size());
        pending_.append(data.substr(0, take));
        data.remove_prefix(take);
        if (pending_.size() < kNonceSize) return true;
        Key32 key = payload_key(file_key_, pending_);
        wipe(file_key_.data(), file_key_.size());
        aead_ = std::make_unique<ChunkAead>(key);
        wipe(key.data(), key.size());
        plain_.resize(kChunkSize);
        pending_.clear();
        pending_.reserve(kSealedChunkSize + 1);
        state_ = State::Body;
    }
    while (!data.empty()) {
        std::size_t take = std::min(data.size(), kSealedChunkSize + 1 - pending_.size());
        pending_.append(data.substr(0, take));
        data.remove_prefix(take);
        if (pending_.size() == kSealedChunkSize + 1) {  // a full chunk and at least one byte more
            if (!open_chunk(std::string_view(pending_).substr(0, kSealedChunkSize), true, err)) return false;
            pending_.erase(0, kSealedChunkSize);
        }
    }
    return true;
}

bool Decryptor::finish(std::string& err) {
    switch (state_) {
        case State::Failed: return (err = failed_, false);
        case State::Done: return (err = "age: finish called twice", false);
        case State::Header: return fail_header(pending_.empty() ? "empty file" : "file ends inside the header", err);
        case State::Nonce: return fail(ErrorKind::Header, "file ends before the payload nonce", err);
        case State::Body: break;
    }
    if (pending_.empty())
        return fail(ErrorKind::Payload, "authentication failed: the payload has no chunks (the file is truncated)", err);
    if (pending_.size() < kTagSize)
        return fail(ErrorKind::Payload,
                    "authentication failed: chunk " + std::to_string(counter_ + 1) +
                        " is shorter than a tag (the file is truncated)",
                    err);
    if (pending_.size() == kTagSize && counter_ > 0)
        return fail(ErrorKind::Payload, "authentication failed: empty final chunk after a full one", err);
    if (!open_chunk(pending_, false, err)) return false;
    pending_.clear();
    state_ = State::Done;
    std::string e;
    if (!out_.finish(e)) return fail(ErrorKind::Io, e, err);
    return true;
}

}  // namespace hostsync::age
