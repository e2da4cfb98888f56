#pragma once
// The inverse of a LineTemplate: a line layout to check lines against, literal text
// interleaved with typed values, compiled once from a script's description. It lets a
// verifier hold every line of a large file to the exact layout its writer uses (a JSONL
// packet, say) at C++ speed, with the rules of each value checked on the way: a counter
// that goes up by one per line, a number that only grows, a canonical JSON object and
// the SHA-256 that must be its hash, a timestamp.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hostsync {

enum class MatchSlot {
    literal,
    counter,        // a decimal integer equal to the counter, which then goes up by one
    increasing,     // a decimal integer greater than the previous line's
    string_object,  // a JSON object of strings in RFC 8785 canonical form
    object_sha256,  // 64 lowercase hex digits: SHA-256 of the last string_object's text
    iso_time,       // an ISO 8601 date-time with a zone (clock::parse_iso), unquoted
    string,         // a JSON string (quotes included) in RFC 8785 canonical form
};

class LinePattern {
public:
    void add_literal(std::string_view text);
    // `name` says which value differs in a mismatch ("seq", "row_hash").
    void add_slot(MatchSlot slot, std::string name);

    // The counter's next expected value and the last `increasing` value seen.
    void reset(std::uint64_t counter, std::uint64_t after);
    std::uint64_t counter() const { return counter_; }
    std::uint64_t after() const { return after_; }

    // Checks one line (without its line end). On success advances the counter and the
    // increasing value; on a mismatch returns false with `why` and the byte `at` where
    // the line differs, and changes nothing.
    bool match(std::string_view line, std::string& why, std::size_t& at);

private:
    struct Part {
        MatchSlot slot;
        std::string text;  // the literal, or the slot's name
    };
    std::vector<Part> parts_;
    std::uint64_t counter_ = 1;
    std::uint64_t after_ = 0;
    std::vector<std::string> known_keys_;  // the last string_object's keys, checked
    std::string last_time_;                // the last iso_time that parsed
};

// Checks that s[pos..] starts with a JSON object of strings in RFC 8785 canonical form
// (members sorted by UTF-16 code units, no whitespace, strings escaped exactly as JCS
// says, valid UTF-8) and moves pos past it. False with `why` and pos at the problem.
// With `known_keys`, an object whose keys are those (raw text, as the last call left
// them there) is checked faster, and after an object with other keys they are replaced.
bool scan_canonical_string_object(std::string_view s, std::size_t& pos, std::string& why,
                                  std::vector<std::string>* known_keys = nullptr);

}  // namespace hostsync
