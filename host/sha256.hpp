#pragma once
// SHA-256 over OpenSSL 3 EVP. The one-shot functions are on the hot path (a million
// ~300-byte rows per run), so they reuse one fetched EVP_MD and one EVP_MD_CTX per thread
// instead of paying EVP_Digest's fetch and allocation on every call.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace hostsync::sha256 {

using Digest = std::array<unsigned char, 32>;

Digest digest(std::string_view data);
std::string hex(std::string_view data);
// 64 lowercase hex characters written to out, no terminator.
void hex_to(const Digest& d, char* out);

// An incremental hasher. digest()/hex() report the hash of everything so far without
// ending it (they finish a copy of the context), so update() may go on afterwards.
class Hasher {
public:
    Hasher();
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    void update(std::string_view data);
    Digest digest() const;
    std::string hex() const;
    std::uint64_t bytes() const { return bytes_; }

private:
    EVP_MD_CTX* ctx_;
    std::uint64_t bytes_ = 0;
};

// Hashes a file (or exactly the range [offset, offset+length)) with a fixed buffer.
// Without length, hashes from offset to the end. Returns false with err naming the path
// if the file cannot be read or is shorter than the range.
bool file_hex(const std::string& path, std::uint64_t offset, std::optional<std::uint64_t> length,
              std::string& hex_out, std::string& err);

}  // namespace hostsync::sha256
