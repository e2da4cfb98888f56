#include "jcs_object.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "jcs_string.hpp"

namespace hostsync::jcs {

StringObjectWriter::StringObjectWriter(const std::vector<std::string>& keys) : order_(keys.size()) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::sort(order_.begin(), order_.end(),
              [&](std::size_t a, std::size_t b) { return key_less(keys[a], keys[b]); });
    prefixes_.reserve(order_.size());
    for (std::size_t k = 0; k < order_.size(); ++k) {
        std::string p(k == 0 ? "{" : ",");
        append_string(p, keys[order_[k]]);
        p.push_back(':');
        prefixes_.push_back(std::move(p));
    }
}

void StringObjectWriter::write(std::string& out, const std::string_view* values, std::size_t n) const {
    if (n != order_.size()) throw std::logic_error("StringObjectWriter::write: wrong number of values");
    if (n == 0) {
        out.append("{}");
        return;
    }
    for (std::size_t k = 0; k < n; ++k) {
        out.append(prefixes_[k]);
        append_string(out, values[order_[k]]);
    }
    out.push_back('}');
}

}  // namespace hostsync::jcs
