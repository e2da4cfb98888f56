#pragma once
// Whole-file and ranged reads. Errors name the path: "open /x/y.csv: No such file or directory".
#include <cstdint>
#include <string>

namespace hostsync::fs {

bool read_file(const std::string& path, std::string& out, std::string& err);

// Up to `length` bytes at `offset` (pread); shorter, possibly empty, at the end of the file.
bool read_range(const std::string& path, std::uint64_t offset, std::uint64_t length, std::string& out,
                std::string& err);

}  // namespace hostsync::fs
