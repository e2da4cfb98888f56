#pragma once
// Server-sent events (the WHATWG EventSource wire format): an incremental parser for the
// client and the frame writer for the server. No I/O here, so both are unit-tested alone.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hostsync::sse {

struct Event {
    std::string id;      // the stream's last event id when this event was dispatched
    std::string event;   // "message" unless the server named it
    std::string data;    // data: lines joined by "\n"
};

class Parser {
public:
    // Called once per complete event; return false to stop (feed() then returns false).
    using Sink = std::function<bool(const Event&)>;

    explicit Parser(Sink sink) : sink_(std::move(sink)) {}

    // Feeds bytes as they arrive; lines and events may straddle calls.
    bool feed(std::string_view bytes);

    // The id a reconnect must send as Last-Event-ID (persists across events, per spec).
    const std::string& last_event_id() const { return last_id_; }
    void set_last_event_id(std::string id) { last_id_ = std::move(id); }

    // The server's `retry:` in milliseconds, if it sent one.
    std::optional<long> retry_ms() const { return retry_ms_; }

private:
    bool line(std::string_view l);

    Sink sink_;
    std::string pending_;        // an unterminated line
    bool skip_lf_ = false;       // last chunk ended in "\r": a leading "\n" belongs to it
    std::string data_, event_, last_id_;
    bool has_data_ = false;
    std::optional<long> retry_ms_;
};

// One frame: "id: ...\nevent: ...\nretry: ...\ndata: ...\n\n" (empty fields omitted,
// multi-line data split into several data: lines). Throws std::invalid_argument for an
// id or event name containing a line break, which would forge frames.
std::string format_event(std::string_view id, std::string_view event, std::string_view data,
                         long retry_ms = -1);

}  // namespace hostsync::sse
