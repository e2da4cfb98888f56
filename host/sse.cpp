#include "sse.hpp"

#include <stdexcept>

namespace hostsync::sse {

bool Parser::feed(std::string_view bytes) {
    std::size_t i = 0;
    if (skip_lf_ && !bytes.empty() && bytes[0] == '\n') i = 1;
    skip_lf_ = false;
    std::size_t start = i;
    for (; i < bytes.size(); ++i) {
        char c = bytes[i];
        if (c != '\n' && c != '\r') continue;
        pending_.append(bytes.substr(start, i - start));
        std::string l;
        l.swap(pending_);
        if (c == '\r') {
            if (i + 1 < bytes.size()) {
                if (bytes[i + 1] == '\n') ++i;
            } else {
                skip_lf_ = true;
            }
        }
        start = i + 1;
        if (!line(l)) return false;
    }
    pending_.append(bytes.substr(start));
    return true;
}

bool Parser::line(std::string_view l) {
    if (l.empty()) {
        // Blank line: dispatch. An event without data only updates the id (spec).
        if (!has_data_) {
            event_.clear();
            return true;
        }
        Event ev{last_id_, event_.empty() ? "message" : event_, std::move(data_)};
        if (!ev.data.empty() && ev.data.back() == '\n') ev.data.pop_back();
        data_.clear();
        event_.clear();
        has_data_ = false;
        return sink_(ev);
    }
    if (l[0] == ':') return true;  // comment (heartbeats)
    std::string_view field = l, value;
    if (auto colon = l.find(':'); colon != std::string_view::npos) {
        field = l.substr(0, colon);
        value = l.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        data_.append(value);
        data_.push_back('\n');
        has_data_ = true;
    } else if (field == "event") {
        event_.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    } else if (field == "retry") {
        if (!value.empty() && value.size() < 10 &&
            value.find_first_not_of("0123456789") == std::string_view::npos)
            retry_ms_ = std::stol(std::string(value));
    }
    return true;  // unknown fields are ignored (spec)
}

std::string format_event(std::string_view id, std::string_view event, std::string_view data,
                         long retry_ms) {
    auto one_line = [](std::string_view v, const char* what) {
        if (v.find_first_of("\r\n") != std::string_view::npos)
            throw std::invalid_argument(std::string("SSE ") + what + " must not contain a line break");
    };
    one_line(id, "id");
    one_line(event, "event");
    std::string out;
    if (!id.empty()) out.append("id: ").append(id).push_back('\n');
    if (!event.empty()) out.append("event: ").append(event).push_back('\n');
    if (retry_ms >= 0) out.append("retry: ").append(std::to_string(retry_ms)).push_back('\n');
    // Every line of data gets its own data: field; \r\n and \r count as line breaks too.
    std::size_t start = 0;
    for (std::size_t i = 0; i <= data.size(); ++i) {
        if (i < data.size() && data[i] != '\n' && data[i] != '\r') continue;
        out.append("data: ").append(data.substr(start, i - start)).push_back('\n');
        if (i < data.size() && data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
        start = i + 1;
    }
    out.push_back('\n');
    return out;
}

}  // namespace hostsync::sse
