#pragma once
// Ready-made ByteSinks and ByteSources (byte_sink.hpp, byte_source.hpp):
//   AppenderSink  forwards to an fs::Appender; finish() flushes it to the kernel (the
//                 owner still closes it, which syncs)
//   HashSink      SHA-256 and byte count of everything written, nothing stored
//   TeeSink       writes every piece to several sinks in order; finish() finishes each
//   FdSource      reads a file descriptor (it does not own it)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "byte_sink.hpp"
#include "byte_source.hpp"
#include "sha256.hpp"

namespace hostsync {

namespace fs {
class Appender;
}

class AppenderSink final : public ByteSink {
public:
    explicit AppenderSink(fs::Appender* a) : a_(a) {}
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;

private:
    fs::Appender* a_;
};

class HashSink final : public ByteSink {
public:
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;
    std::string hex() const { return h_.hex(); }
    std::uint64_t bytes() const { return h_.bytes(); }
    bool finished() const { return finished_; }

private:
    sha256::Hasher h_;
    bool finished_ = false;
};

class TeeSink final : public ByteSink {
public:
    explicit TeeSink(std::vector<ByteSink*> sinks) : sinks_(std::move(sinks)) {}
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;

private:
    std::vector<ByteSink*> sinks_;
};

class FdSource final : public ByteSource {
public:
    FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    ssize_t read(char* buf, std::size_t n, std::string& err) override;

private:
    int fd_;
    std::string name_;
};

}  // namespace hostsync
