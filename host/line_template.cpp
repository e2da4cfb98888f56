#include "line_template.hpp"

#include <charconv>

#include "clock.hpp"
#include "sha256.hpp"

namespace hostsync {

std::optional<LineSlot> line_slot_named(std::string_view name) {
    static const struct {
        std::string_view name;
        LineSlot slot;
    } kNames[] = {
        {"seq", LineSlot::seq},         {"line_no", LineSlot::line_no},
        {"offset", LineSlot::offset},   {"row", LineSlot::row},
        {"row_sha256", LineSlot::row_sha256}, {"local_time", LineSlot::local_time},
        {"utc_time", LineSlot::utc_time},
    };
    for (const auto& n : kNames)
        if (n.name == name) return n.slot;
    return std::nullopt;
}

void LineTemplate::add_literal(std::string_view text) {
    // Adjacent literals merge, so a rendered line is as few appends as possible.
    if (!parts_.empty() && parts_.back().slot == LineSlot::literal) {
        parts_.back().text.append(text);
    } else {
        parts_.push_back({LineSlot::literal, std::string(text)});
    }
}

void LineTemplate::add_slot(LineSlot slot) { parts_.push_back({slot, {}}); }

bool LineTemplate::uses(LineSlot slot) const {
    for (const auto& p : parts_)
        if (p.slot == slot) return true;
    return false;
}

namespace {

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

}  // namespace

void LineTemplate::render(std::string& out, const RecordValues& v) const {
    char text[clock::kIsoMax > 64 ? clock::kIsoMax : 64];
    char row_hex[64];
    bool hashed = false;
    for (const auto& p : parts_) {
        switch (p.slot) {
            case LineSlot::literal: out.append(p.text); break;
            case LineSlot::seq: append_number(out, v.seq); break;
            case LineSlot::line_no: append_number(out, v.line_no); break;
            case LineSlot::offset: append_number(out, v.offset); break;
            case LineSlot::row: out.append(v.row); break;
            case LineSlot::row_sha256:
                if (!hashed) sha256::hex_to(sha256::digest(v.row), row_hex);
                hashed = true;
                out.append(row_hex, 64);
                break;
            case LineSlot::local_time:
                out.append(text, clock::local_iso(clock::now(), false, text));
                break;
            case LineSlot::utc_time:
                out.append(text, clock::utc_iso(clock::now(), false, text));
                break;
        }
    }
}

}  // namespace hostsync
