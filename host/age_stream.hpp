#pragma once
// Streaming age v1 encryption and decryption (c2sp.org/age, "Payload"), both as
// ByteSinks so they compose with any producer and consumer in constant memory:
//
//   Encryptor: plaintext in -> header, 16-byte nonce, STREAM chunks out (to a ByteSink)
//   Decryptor: ciphertext in -> verified plaintext out (to a ByteSink)
//
// STREAM: the payload key is HKDF-SHA-256(file key, salt = nonce, info = "payload");
// plaintext is cut in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under the nonce
// 11-byte big-endian counter || last flag (0x01 on the final chunk). The final chunk may
// be full, and is empty only when the whole payload is.
//
// The decryptor releases a chunk's plaintext only after its tag verified, and knows
// whether more data follows a chunk by looking one byte ahead, so it detects truncation
// at a chunk boundary (the last chunk is not marked final), a wrong final flag, an empty
// final chunk and data after the final chunk. As in the reference implementation (and
// as the CCTV vectors require), a chunk whose tag verifies is released before such a
// stream-structure error is reported: it is authentic, the error still comes.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "age_crypto.hpp"
#include "age_keys.hpp"
#include "byte_sink.hpp"

namespace hostsync::age {

// Collects everything in memory (in-memory decryption, the file reader's queue).
struct StringSink final : ByteSink {
    std::string data;
    bool write(std::string_view d, std::string&) override {
        data.append(d);
        return true;
    }
    bool finish(std::string&) override { return true; }
};

inline constexpr std::size_t kChunkSize = 64 * 1024;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kSealedChunkSize = kChunkSize + kTagSize;
inline constexpr std::size_t kNonceSize = 16;

// The 12-byte ChaCha20-Poly1305 nonce of chunk `counter`.
void stream_nonce(std::uint64_t counter, bool last, unsigned char out[12]);
Key32 payload_key(std::string_view file_key, std::string_view nonce);

class Encryptor final : public ByteSink {
public:
    explicit Encryptor(ByteSink& out) : out_(out) {}
    ~Encryptor() override;

    // Makes a file key, writes the header for `recipients` and the payload nonce. An
    // scrypt recipient must be the only one. False with err on a bad recipient list or
    // when the sink fails.
    bool start(const std::vector<Recipient>& recipients, std::string& err);
    bool write(std::string_view plaintext, std::string& err) override;
    // Seals the final chunk, then finishes the downstream sink.
    bool finish(std::string& err) override;

    std::uint64_t plaintext_bytes() const { return bytes_; }
    bool started() const { return aead_ != nullptr; }
    bool finished() const { return finished_; }

private:
    bool seal_chunk(std::string_view plain, bool last, std::string& err);
    bool fail(const std::string& e, std::string& err);

    ByteSink& out_;
    std::unique_ptr<ChunkAead> aead_;
    std::string pending_;  // plaintext not yet sealed (at most one chunk)
    std::string sealed_;   // reused output buffer
    std::uint64_t counter_ = 0;
    std::uint64_t bytes_ = 0;
    bool finished_ = false;
    std::string failed_;
};

class Decryptor final : public ByteSink {
public:
    Decryptor(std::vector<Identity> identities, ByteSink& out) : ids_(std::move(identities)), out_(out) {}
    ~Decryptor() override;

    bool write(std::string_view ciphertext, std::string& err) override;
    // End of the ciphertext: verifies the final chunk, then finishes the downstream sink.
    bool finish(std::string& err) override;

    ErrorKind error_kind() const { return kind_; }
    // True once the header parsed, a key unwrapped the file key, the header MAC verified
    // and the payload nonce was read.
    bool header_done() const { return state_ == State::Body || state_ == State::Done; }
    std::uint64_t plaintext_bytes() const { return bytes_; }
    std::uint64_t chunks() const { return counter_; }

private:
    enum class State { Header, Nonce, Body, Done, Failed };
    bool on_header(std::string& err);
    bool fail_header(const std::string& otherwise, std::string& err);
    bool open_chunk(std::string_view sealed, bool more_follows, std::string& err);
    bool fail(ErrorKind k, const std::string& e, std::string& err);

    std::vector<Identity> ids_;
    ByteSink& out_;
    State state_ = State::Header;
    ErrorKind kind_ = ErrorKind::None;
    std::string pending_;  // header bytes, then nonce bytes, then at most one sealed chunk + 1
    std::size_t scan_from_ = 0;  // header: where to look for "\n---" next
    bool version_checked_ = false;
    std::string file_key_;
    std::unique_ptr<ChunkAead> aead_;
    std::string plain_;
    std::uint64_t counter_ = 0;
    std::uint64_t bytes_ = 0;
    std::string failed_;
};

}  // namespace hostsync::age
