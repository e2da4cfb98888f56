#pragma once
// A destination for a byte stream (a tar being written, a ciphertext, a hash). Shared by
// the tar writer and the age encryptor so that one can feed the other without a
// temporary file. write() may be called any number of times, then finish() once: it
// completes the output (flushes, writes a final chunk, renames into place...). Both
// return false with err set on failure; after a failure the sink must not be used.
//
// Lua side: a userdata whose metatable has a `__hostsync_sink` C function returning a
// lightuserdata ByteSink* (valid while the userdata lives) can be passed to any function
// that takes a sink (docs/architecture.md, "Byte sinks and sources").
#include <string>
#include <string_view>

namespace hostsync {

struct ByteSink {
    virtual ~ByteSink() = default;
    virtual bool write(std::string_view data, std::string& err) = 0;
    virtual bool finish(std::string& err) = 0;
};

}  // namespace hostsync
