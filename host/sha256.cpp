#include "sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <stdexcept>

#include "codec.hpp"
#include "fs_sys.hpp"

namespace hostsync::sha256 {
namespace {

// Fetched once: EVP_get_digestbyname/EVP_sha256 would make EVP_DigestInit_ex2 look the
// implementation up in the provider on every call.
const EVP_MD* md() {
    static EVP_MD* fetched = [] {
        EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (m == nullptr) throw std::runtime_error("sha256: EVP_MD_fetch(SHA256) failed");
        return m;
    }();
    return fetched;
}

EVP_MD_CTX* new_ctx() {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) throw std::bad_alloc();
    return ctx;
}

// One context per thread for the one-shot functions; re-initialising a context that
// already holds SHA-256 is much cheaper than creating one.
struct ThreadCtx {
    EVP_MD_CTX* ctx = new_ctx();
    ~ThreadCtx() { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* thread_ctx() {
    thread_local ThreadCtx holder;
    return holder.ctx;
}

void check(int ok, const char* what) {
    if (ok != 1) throw std::runtime_error(std::string("sha256: ") + what + " failed");
}

}  // namespace

Digest digest(std::string_view data) {
    EVP_MD_CTX* ctx = thread_ctx();
    Digest out;
    check(EVP_DigestInit_ex2(ctx, md(), nullptr), "EVP_DigestInit_ex2");
    check(EVP_DigestUpdate(ctx, data.data(), data.size()), "EVP_DigestUpdate");
    check(EVP_DigestFinal_ex(ctx, out.data(), nullptr), "EVP_DigestFinal_ex");
    return out;
}

void hex_to(const Digest& d, char* out) { codec::hex_encode_to(d.data(), d.size(), out); }

std::string hex(std::string_view data) {
    std::string out(64, '\0');
    hex_to(digest(data), out.data());
    return out;
}

Hasher::Hasher() : ctx_(new_ctx()) {
    if (EVP_DigestInit_ex2(ctx_, md(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx_);
        throw std::runtime_error("sha256: EVP_DigestInit_ex2 failed");
    }
}

Hasher::~Hasher() { EVP_MD_CTX_free(ctx_); }

void Hasher::update(std::string_view data) {
    check(EVP_DigestUpdate(ctx_, data.data(), data.size()), "EVP_DigestUpdate");
    bytes_ += data.size();
}

Digest Hasher::digest() const {
    // Finish a copy so this hasher can keep going.
    EVP_MD_CTX* copy = thread_ctx();
    check(EVP_MD_CTX_copy_ex(copy, ctx_), "EVP_MD_CTX_copy_ex");
    Digest out;
    check(EVP_DigestFinal_ex(copy, out.data(), nullptr), "EVP_DigestFinal_ex");
    return out;
}

std::string Hasher::hex() const {
    std::string out(64, '\0');
    hex_to(digest(), out.data());
    return out;
}

bool file_hex(const std::string& path, std::uint64_t offset, std::optional<std::uint64_t> length,
              std::string& hex_out, std::string& err) {
    fs::Fd fd(fs::open_cloexec(path, O_RDONLY));
    if (!fd) return (err = fs::sys_error("open", path, errno), false);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return (err = fs::sys_error("stat", path, errno), false);
    if (S_ISDIR(st.st_mode)) return (err = fs::sys_error("read", path, EISDIR), false);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

    // Constant memory whatever the file size: one 256 KiB buffer.
    constexpr std::size_t kBuf = 256 * 1024;
    std::unique_ptr<char[]> buf(new char[kBuf]);
    Hasher h;
    std::uint64_t pos = offset;
    std::uint64_t want = length.value_or(UINT64_MAX);
    while (want > 0) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(want, kBuf));
        ssize_t got = fs::pread_full(fd.get(), buf.get(), n, pos);
        if (got < 0) return (err = fs::sys_error("read", path, errno), false);
        h.update({buf.get(), static_cast<std::size_t>(got)});
        pos += static_cast<std::uint64_t>(got);
        want -= static_cast<std::uint64_t>(got);
        if (static_cast<std::size_t>(got) < n) break;  // end of file
    }
    // A short range is an error, not a shorter hash: the caller asked about exact bytes.
    bool short_range = length && want > 0;
    bool past_end = !length && h.bytes() == 0 && offset > 0;
    if (short_range || past_end) {
        if (::fstat(fd.get(), &st) != 0) return (err = fs::sys_error("stat", path, errno), false);
        std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
        if (short_range) {
            err = "sha256_file " + path + ": range " + std::to_string(offset) + "+" + std::to_string(*length) +
                  " goes past the end of the file (" + std::to_string(size) + " bytes)";
            return false;
        }
        if (offset > size) {
            err = "sha256_file " + path + ": offset " + std::to_string(offset) +
                  " is past the end of the file (" + std::to_string(size) + " bytes)";
            return false;
        }
    }
    hex_out = h.hex();
    return true;
}

}  // namespace hostsync::sha256
