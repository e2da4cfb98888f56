#pragma once
// An origin of a byte stream (a file, a decrypting reader), read by the tar reader.
// read() fills up to n bytes and returns the count, 0 at the end of the stream, or -1
// with err set. The Lua protocol mirrors ByteSink's: a userdata whose metatable has a
// `__hostsync_source` C function returning a lightuserdata ByteSource*.
#include <sys/types.h>

#include <cstddef>
#include <string>

namespace hostsync {

struct ByteSource {
    virtual ~ByteSource() = default;
    virtual ssize_t read(char* buf, std::size_t n, std::string& err) = 0;
};

}  // namespace hostsync
