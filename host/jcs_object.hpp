#pragma once
// RFC 8785 canonical JSON for objects with a fixed set of keys and string values, as CSV
// rows are: the key order and the escaped `"key":` prefixes are worked out once, so each
// row only costs the escaping of its values.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hostsync::jcs {

class StringObjectWriter {
  public:
    // `keys` must be distinct and valid UTF-8 (the caller checks; a CSV header does).
    explicit StringObjectWriter(const std::vector<std::string>& keys);

    std::size_t size() const { return order_.size(); }

    // Appends {"key":"value",...} to `out`; values[i] belongs to keys[i], n == size().
    // `plain` is a promise by a caller that has already looked at every byte: no value
    // contains a control character, '"' or '\\', so none needs escaping.
    void write(std::string& out, const std::string_view* values, std::size_t n, bool plain = false) const;

  private:
    std::vector<std::size_t> order_;    // key indices in RFC 8785 order
    std::vector<std::string> prefixes_; // prefixes_[k]: "{" or "," then "key": of order_[k]
    std::size_t fixed_size_ = 0;        // bytes of a row besides its values
};

}  // namespace hostsync::jcs
