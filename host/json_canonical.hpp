#pragma once
// JSON text in, RFC 8785 (JCS) canonical text out, without a document tree in between:
// verifiers recompute hashes of documents they did not write.
#include <string>
#include <string_view>

#include "json_reader.hpp"

namespace hostsync::json {

// Parses `text` (strictly, as json::parse; duplicate keys are an error) and writes its
// canonical form to `out`: members sorted by jcs::key_less, no whitespace, strings per
// jcs::append_string, numbers per es_number. Returns false with `err` filled otherwise.
bool canonicalize(std::string_view text, std::string& out, ParseError& err,
                  int max_depth = kMaxDepth);

}  // namespace hostsync::json
