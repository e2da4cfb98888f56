#pragma once
// age files on disk: a pull reader that decrypts a file chunk by chunk, and whole-file
// encryption and decryption in constant memory. Errors name the file:
// "<path>: age: authentication failed: ...".
#include <cstdint>
#include <string>
#include <vector>

#include "age_keys.hpp"
#include "age_stream.hpp"
#include "byte_sink.hpp"
#include "byte_source.hpp"
#include "file_sink.hpp"
#include "fs_sys.hpp"

namespace hostsync::age {

// Also a ByteSource (byte_source.hpp), so a consumer such as the tar reader can pull
// verified plaintext from it.
class FileReader final : public ByteSource {
public:
    enum class Status { Data, End, Error };

    FileReader() = default;
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    // Opens `path` and reads until the header is verified (identities tried, MAC checked,
    // nonce read). False with err and kind() on any failure.
    bool open(const std::string& path, std::vector<Identity> identities, std::string& err);
    // Data: `out` holds the next verified plaintext (at most ~128 KiB). End: the whole
    // file verified, nothing more. Error: err/kind(); plaintext returned before an Error
    // was verified, nothing after it is released.
    Status read(std::string& out, std::string& err);
    void close();
    // ByteSource: up to n bytes of verified plaintext, 0 at the verified end, -1 on error.
    ssize_t read(char* buf, std::size_t n, std::string& err) override;

    ErrorKind kind() const { return kind_; }
    std::uint64_t plaintext_bytes() const { return dec_ ? dec_->plaintext_bytes() : 0; }
    bool is_open() const { return static_cast<bool>(fd_); }

private:
    bool pump(std::string& err);  // one read(2) into the decryptor
    bool fail(ErrorKind k, const std::string& e, std::string& err);

    fs::Fd fd_;
    std::string path_;
    StringSink queue_;
    std::unique_ptr<Decryptor> dec_;
    std::string buf_;
    std::string out_;           // ByteSource: plaintext handed out piecewise
    std::size_t out_pos_ = 0;
    bool eof_ = false;
    ErrorKind kind_ = ErrorKind::None;
    std::string failed_;
};

// Encrypts src into a new file dst (never overwriting). False with err; a partial dst is
// removed.
bool encrypt_file(const std::string& src, const std::string& dst, const std::vector<Recipient>& recipients,
                  const FileSink::Options& opts, std::string& err);

// Decrypts src into a new file dst, which appears (atomically, never overwriting) only if
// the whole file verified; on failure nothing is left at dst. Returns the error kind.
ErrorKind decrypt_file(const std::string& src, const std::string& dst, std::vector<Identity> identities,
                       std::string& err);

// In memory (small payloads): returns None and fills out, or the error kind.
std::string encrypt_string(std::string_view plaintext, const std::vector<Recipient>& recipients);
ErrorKind decrypt_string(std::string_view ciphertext, std::vector<Identity> identities, std::string& out,
                         std::string& err);

}  // namespace hostsync::age
