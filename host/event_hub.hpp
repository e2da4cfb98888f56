#pragma once
// Topics of server-sent events, fanned out to subscribers by the host: the server keeps
// subscriber connections on its event loop, grouped by topic; the app publishes events
// (an increasing id, a pre-formatted SSE frame, attributes) and decides once, when a
// client subscribes, where it resumes and which events it may see (a Filter). No Lua and
// no HTTP in here: the server implements Subscriber, hostsync.http exposes publish and
// subscribe (docs/api/http.md, "Event topics").
//
// Gap-free by construction: each topic keeps a ring of its latest events, all of them
// from `floor` (exclusive) to `last`. A publish says which id it starts after (`from`)
// and must hold every event after it, so the ring never has holes; a subscriber whose
// resume point is older than the ring is sent its replay and then ended, and reconnects
// from where it got to (the app replays from its store of record).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hostsync::events {

using Attrs = std::vector<std::pair<std::string, std::string>>;

struct Event {
    std::int64_t id = 0;
    std::shared_ptr<const std::string> frame;   // the bytes every subscriber is sent
    Attrs attrs;                                // what filters look at
};

// An event with its frame "id: ID\nevent: NAME\ndata: ...\n\n" (sse::format_event).
Event make_event(std::int64_t id, std::string_view name, std::string_view data, Attrs attrs);

// "May this subscriber see this event", decided once at subscribe time: for every rule,
// the event's attribute (a missing one counts as "") must be one of the rule's values.
// No rules: everything.
struct Filter {
    std::vector<std::pair<std::string, std::vector<std::string>>> rules;
    bool allows(const Attrs& attrs) const;
};

// A subscriber's end of the stream, implemented by the server's connection. Called with
// the topic's lock held: must not block or call back into the hub.
class Subscriber {
public:
    virtual ~Subscriber() = default;
    // Queues bytes for the client; false once the client is gone.
    virtual bool deliver(const std::shared_ptr<const std::string>& frame) = 0;
    // Ends the stream once what is queued has been sent.
    virtual void finish() = 0;
};

struct Subscription {
    std::string topic;
    std::vector<std::shared_ptr<const std::string>> notices;  // frames sent first, without ids
                                     // (e.g. "what you asked for was pruned"): not events
    std::int64_t after = 0;          // the last id the client has; later events are sent
    std::vector<Event> replay;       // events the app read from its store, ids increasing
    Filter filter;
    Attrs labels;                    // for end_streams (e.g. the token id), not sent
};

struct TopicInfo {
    std::int64_t floor = 0;          // the ring holds every event with floor < id <= last
    std::int64_t last = 0;
    std::size_t subscribers = 0;
    std::size_t buffered = 0;        // events in the ring
};

struct Limits {
    std::size_t ring_events = 4096;          // per topic
    std::size_t ring_bytes = 8u << 20;       // per topic (frame bytes)
};

class Hub {
public:
    explicit Hub(Limits limits = {}) : limits_(limits) {}
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    // The hub of this process (servers and hostsync.http share it).
    static Hub& instance();

    // Adds the events after the topic's last id; `events` must be every event of the topic
    // after `from`, ids increasing. Events at or below the last id are skipped (two
    // publishers racing send the same ones). A `from` beyond the last id means the ring
    // missed events: it restarts at `from`, and subscribers older than that are ended.
    // A topic nobody ever subscribed to keeps nothing. -> how many events were new.
    std::size_t publish(const std::string& topic, std::int64_t from, std::vector<Event> events);

    // Sends the replay, then the buffered events after the resume point, then everything
    // published later, each only if the filter allows it. -> an id for unsubscribe(), or
    // 0 if the ring does not reach back to the resume point: the replay was sent and the
    // stream finished (the client resumes from its last event).
    std::uint64_t subscribe(Subscription sub, std::shared_ptr<Subscriber> to);
    void unsubscribe(const std::string& topic, std::uint64_t id);

    // Finishes every stream whose labels hold key = value; -> how many.
    std::size_t end_streams(const std::string& key, const std::string& value);
    // The distinct values of label `key` among open streams (e.g. the tokens to check).
    std::vector<std::string> label_values(const std::string& key);

    std::optional<TopicInfo> info(const std::string& topic);
    std::vector<std::string> topics();

private:
    struct Member {
        std::uint64_t id;
        std::int64_t cursor;                 // the last event id considered for it
        Filter filter;
        Attrs labels;
        std::shared_ptr<Subscriber> to;
    };
    struct Topic {
        std::mutex mu;
        bool known = false;                  // a subscriber set floor/last
        std::int64_t floor = 0, last = 0;
        std::deque<Event> ring;              // oldest first
        std::size_t ring_bytes = 0;
        std::vector<Member> members;
    };

    std::shared_ptr<Topic> topic(const std::string& name, bool create);
    static bool send(Member& m, const Event& e);   // false: the client is gone
    void trim(Topic& t);

    Limits limits_;
    std::mutex mu_;
    std::map<std::string, std::shared_ptr<Topic>> topics_;
    std::uint64_t next_id_ = 1;
};

}  // namespace hostsync::events
