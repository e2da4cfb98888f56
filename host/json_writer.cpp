#include "json_writer.hpp"

#include "es_number.hpp"
#include "jcs_string.hpp"

namespace hostsync::json {

void Writer::newline() {
    out_.push_back('\n');
    out_.append(static_cast<std::size_t>(depth_) * 2, ' ');
}

// Called before every value and key: separates it from its predecessor. A value that
// follows its key needs nothing.
void Writer::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (depth_ == 0) return;
    if (!first_) out_.push_back(',');
    first_ = false;
    if (pretty_) newline();
}

void Writer::open(char c) {
    before_value();
    out_.push_back(c);
    ++depth_;
    first_ = true;
}

void Writer::close(char c) {
    --depth_;
    // An empty container stays "{}" / "[]" on one line even when pretty.
    if (pretty_ && !first_) newline();
    out_.push_back(c);
    first_ = false;  // the container just closed is a member of its parent
}

void Writer::key(std::string_view k) {
    before_value();
    jcs::append_string(out_, k);
    out_.push_back(':');
    if (pretty_) out_.push_back(' ');
    after_key_ = true;
}

void Writer::string_value(std::string_view s) {
    before_value();
    jcs::append_string(out_, s);
}

void Writer::number_value(double v) {
    before_value();
    es_number::append(out_, v);
}

}  // namespace hostsync::json
