#include "json_canonical.hpp"

#include <algorithm>
#include <vector>

#include "es_number.hpp"
#include "jcs_string.hpp"
#include "json_key_order.hpp"

namespace hostsync::json {
namespace {

// Arrays keep their order, so they are written straight into whatever buffer encloses
// them. Objects must be reordered: each open object collects its members' values as text
// in a buffer of its own, and on '}' writes them, sorted, into the enclosing buffer.
class CanonicalWriter : public Handler {
public:
    explicit CanonicalWriter(std::string& out) : out_(out) {}

    bool null_value() override { before_value(); target().append("null"); return after_value(); }
    bool bool_value(bool v) override { before_value(); target().append(v ? "true" : "false"); return after_value(); }
    bool number_value(double v) override { before_value(); es_number::append(target(), v); return after_value(); }
    bool string_value(std::string_view s) override { before_value(); jcs::append_string(target(), s); return after_value(); }

    bool begin_array() override {
        before_value();
        target().push_back('[');
        containers_.push_back({false, true, containers_.empty() ? -1 : containers_.back().buffer});
        return true;
    }
    bool end_array() override {
        containers_.pop_back();
        target().push_back(']');
        return after_value();
    }

    bool begin_object() override {
        before_value();
        int b = static_cast<int>(used_buffers_++);
        if (buffers_.size() < used_buffers_) buffers_.emplace_back();
        buffers_[b].text.clear();
        buffers_[b].members.clear();
        containers_.push_back({true, true, b});
        return true;
    }
    bool key(std::string_view k, std::size_t offset) override {
        Buffer& b = buffers_[containers_.back().buffer];
        b.members.push_back({std::string(k), offset, b.text.size(), 0});
        return true;
    }
    bool end_object() override {
        Buffer& b = buffers_[containers_.back().buffer];
        containers_.pop_back();
        order_.resize(b.members.size());
        for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
        std::sort(order_.begin(), order_.end(), [&](std::size_t x, std::size_t y) {
            return key_before(b.members[x].key, b.members[y].key);
        });
        for (std::size_t i = 1; i < order_.size(); ++i) {
            const Member& a = b.members[order_[i - 1]];
            const Member& c = b.members[order_[i]];
            if (a.key == c.key) {  // report the later of the two in the text
                error = "duplicate key ";
                jcs::append_string(error, a.key);
                error_offset = std::max(a.key_offset, c.key_offset);
                return false;
            }
        }
        std::string& t = target();  // the enclosing buffer, now that this one is closed
        t.push_back('{');
        for (std::size_t i = 0; i < order_.size(); ++i) {
            const Member& m = b.members[order_[i]];
            if (i > 0) t.push_back(',');
            jcs::append_string(t, m.key);
            t.push_back(':');
            t.append(b.text, m.begin, m.end - m.begin);
        }
        t.push_back('}');
        --used_buffers_;
        return after_value();
    }

private:
    struct Member {
        std::string key;
        std::size_t key_offset;
        std::size_t begin, end;  // the value's text in the object's buffer
    };
    struct Buffer {
        std::string text;
        std::vector<Member> members;
    };
    struct Container {
        bool is_object;
        bool first;
        int buffer;  // index into buffers_, -1 = out_
    };

    std::string& target() {
        if (containers_.empty() || containers_.back().buffer < 0) return out_;
        return buffers_[containers_.back().buffer].text;
    }
    // Arrays separate their elements; an object's values are kept apart by offsets.
    void before_value() {
        if (containers_.empty() || containers_.back().is_object) return;
        if (!containers_.back().first) target().push_back(',');
        containers_.back().first = false;
    }
    bool after_value() {
        if (!containers_.empty() && containers_.back().is_object) {
            Buffer& b = buffers_[containers_.back().buffer];
            b.members.back().end = b.text.size();
        }
        return true;
    }

    std::string& out_;
    std::vector<Container> containers_;
    std::vector<Buffer> buffers_;  // pooled: reused by later objects at the same depth
    std::size_t used_buffers_ = 0;
    std::vector<std::size_t> order_;
};

}  // namespace

bool canonicalize(std::string_view text, std::string& out, ParseError& err, int max_depth) {
    out.clear();
    CanonicalWriter writer(out);
    return parse(text, writer, err, max_depth);
}

}  // namespace hostsync::json
