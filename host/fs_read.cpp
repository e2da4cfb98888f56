#include "fs_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "fs_sys.hpp"

namespace hostsync::fs {
namespace {

// Reads [offset, offset+length) in chunks; st_size only sizes the first allocation, so
// files that grow, shrink or report size 0 (/proc) still read correctly.
bool read_at(int fd, const std::string& path, std::uint64_t offset, std::uint64_t length, std::string& out,
             std::string& err) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return (err = sys_error("stat", path, errno), false);
    if (S_ISDIR(st.st_mode)) return (err = sys_error("read", path, EISDIR), false);
    std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    std::size_t expect = static_cast<std::size_t>(size > offset ? std::min(size - offset, length) : 0);
    out.resize(expect);
    ssize_t n = pread_full(fd, out.data(), expect, offset);
    if (n < 0) return (err = sys_error("read", path, errno), false);
    out.resize(static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < expect) return true;  // shrank meanwhile: that is the end
    // The file may be longer than fstat said (it grew, or it is a /proc file of size 0):
    // go on in chunks until the end or `length`.
    char chunk[16 * 1024];
    constexpr std::size_t kChunk = sizeof chunk;
    std::uint64_t pos = offset + out.size();
    while (out.size() < length) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length - out.size(), kChunk));
        n = pread_full(fd, chunk, want, pos);
        if (n < 0) return (err = sys_error("read", path, errno), false);
        out.append(chunk, static_cast<std::size_t>(n));
        pos += static_cast<std::uint64_t>(n);
        if (static_cast<std::size_t>(n) < want) break;
    }
    return true;
}

}  // namespace

bool read_file(const std::string& path, std::string& out, std::string& err) {
    Fd fd(open_cloexec(path, O_RDONLY));
    if (!fd) return (err = sys_error("open", path, errno), false);
    return read_at(fd.get(), path, 0, UINT64_MAX, out, err);
}

bool read_range(const std::string& path, std::uint64_t offset, std::uint64_t length, std::string& out,
                std::string& err) {
    Fd fd(open_cloexec(path, O_RDONLY));
    if (!fd) return (err = sys_error("open", path, errno), false);
    return read_at(fd.get(), path, offset, length, out, err);
}

}  // namespace hostsync::fs
