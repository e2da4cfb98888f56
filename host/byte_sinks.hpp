#pragma once
// Ready-made ByteSinks and ByteSources (byte_sink.hpp, byte_source.hpp):
//   HashSink      SHA-256 and byte count of everything written, nothing stored
//   TeeSink       writes every piece to several sinks in order; finish() finishes each
//   FdSource      reads a file descriptor (it does not own it)
// (fs::Appender, in fs_appender.hpp, is a ByteSink too.)
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "byte_sink.hpp"
#include "byte_source.hpp"
#include "fs_block_pipeline.hpp"
#include "sha256.hpp"

namespace hostsync {

// Hashes what it receives. Large streams are hashed on a second thread (1 MiB blocks
// through an fs::BlockPipeline), so a producer that also encrypts (a snapshot: tar ->
// SHA-256 -> age) spreads over both cores instead of hashing in line.
class HashSink final : public ByteSink {
public:
    bool write(std::string_view data, std::string& err) override;
    bool finish(std::string& err) override;
    std::string hex();  // of everything written so far (waits for the hashing thread)
    std::uint64_t bytes() const { return bytes_; }
    bool finished() const { return finished_; }

private:
    void drain();

    static constexpr std::size_t kBlock = 1 << 20;
    sha256::Hasher h_;
    std::string buf_;
    std::unique_ptr<fs::BlockPipeline> pipeline_;  // started at the first full block
    std::uint64_t bytes_ = 0;
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
