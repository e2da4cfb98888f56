#include "event_hub.hpp"

#include <algorithm>

#include "sse.hpp"

namespace hostsync::events {

Event make_event(std::int64_t id, std::string_view name, std::string_view data, Attrs attrs) {
    Event e;
    e.id = id;
    e.frame = std::make_shared<const std::string>(sse::format_event(std::to_string(id), name, data));
    e.attrs = std::move(attrs);
    return e;
}

bool Filter::allows(const Attrs& attrs) const {
    static const std::string none;
    for (const auto& [key, values] : rules) {
        const std::string* have = &none;
        for (const auto& [k, v] : attrs) {
            if (k == key) {
                have = &v;
                break;
            }
        }
        if (std::find(values.begin(), values.end(), *have) == values.end()) return false;
    }
    return true;
}

Hub& Hub::instance() {
    static Hub hub;
    return hub;
}

std::shared_ptr<Hub::Topic> Hub::topic(const std::string& name, bool create) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second;
    if (!create) return nullptr;
    auto t = std::make_shared<Topic>();
    topics_.emplace(name, t);
    return t;
}

bool Hub::send(Member& m, const Event& e) {
    if (e.id <= m.cursor) return true;
    m.cursor = e.id;
    if (!m.filter.allows(e.attrs)) return true;
    return m.to->deliver(e.frame);
}

void Hub::trim(Topic& t) {
    while (!t.ring.empty() && (t.ring.size() > limits_.ring_events || t.ring_bytes > limits_.ring_bytes)) {
        t.floor = t.ring.front().id;
        t.ring_bytes -= t.ring.front().frame->size();
        t.ring.pop_front();
    }
}

std::size_t Hub::publish(const std::string& name, std::int64_t from, std::vector<Event> events) {
    auto t = topic(name, false);
    if (!t) return 0;
    std::lock_guard<std::mutex> lock(t->mu);
    if (!t->known) return 0;
    if (from > t->last) {
        // Events (last, from] never reached the ring: whoever has not seen them must
        // resume from the store of record.
        for (auto& m : t->members)
            if (m.cursor < from) m.to->finish();
        t->members.erase(std::remove_if(t->members.begin(), t->members.end(),
                                        [&](const Member& m) { return m.cursor < from; }),
                         t->members.end());
        t->ring.clear();
        t->ring_bytes = 0;
        t->floor = t->last = from;
    }
    std::size_t added = 0;
    bool lost = false;
    for (auto& e : events) {
        if (e.id <= t->last) continue;
        t->last = e.id;
        for (auto& m : t->members) {
            if (!send(m, e)) {
                m.to = nullptr;
                lost = true;
            }
        }
        t->ring_bytes += e.frame->size();
        t->ring.push_back(std::move(e));
        ++added;
    }
    if (lost)
        t->members.erase(std::remove_if(t->members.begin(), t->members.end(),
                                        [](const Member& m) { return m.to == nullptr; }),
                         t->members.end());
    trim(*t);
    return added;
}

std::uint64_t Hub::subscribe(Subscription sub, std::shared_ptr<Subscriber> to) {
    auto t = topic(sub.topic, true);
    std::uint64_t id;
    {
        std::lock_guard<std::mutex> lock(mu_);
        id = next_id_++;
    }
    std::lock_guard<std::mutex> lock(t->mu);
    Member m{id, sub.after, std::move(sub.filter), std::move(sub.labels), std::move(to)};
    for (const auto& frame : sub.notices) {
        if (!m.to->deliver(frame)) return 0;
    }
    for (const auto& e : sub.replay) {
        if (!send(m, e)) return 0;
    }
    const std::int64_t at = m.cursor;
    if (t->members.empty()) {
        // Nobody listens: the ring may be stale or missing. Start it where this subscriber
        // is, unless it already covers that point.
        if (!t->known || at < t->floor || at > t->last) {
            t->known = true;
            t->ring.clear();
            t->ring_bytes = 0;
            t->floor = t->last = at;
        }
    } else if (at < t->floor) {
        m.to->finish();
        return 0;
    }
    for (const auto& e : t->ring) {
        if (!send(m, e)) return 0;
    }
    t->members.push_back(std::move(m));
    return id;
}

void Hub::unsubscribe(const std::string& name, std::uint64_t id) {
    auto t = topic(name, false);
    if (!t) return;
    std::lock_guard<std::mutex> lock(t->mu);
    t->members.erase(std::remove_if(t->members.begin(), t->members.end(),
                                    [&](const Member& m) { return m.id == id; }),
                     t->members.end());
}

std::size_t Hub::end_streams(const std::string& key, const std::string& value) {
    std::vector<std::shared_ptr<Topic>> all;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [_, t] : topics_) all.push_back(t);
    }
    std::size_t n = 0;
    for (auto& t : all) {
        std::lock_guard<std::mutex> lock(t->mu);
        auto matches = [&](const Member& m) {
            for (const auto& [k, v] : m.labels)
                if (k == key && v == value) return true;
            return false;
        };
        for (auto& m : t->members) {
            if (matches(m)) {
                m.to->finish();
                ++n;
            }
        }
        t->members.erase(std::remove_if(t->members.begin(), t->members.end(), matches), t->members.end());
    }
    return n;
}

std::vector<std::string> Hub::label_values(const std::string& key) {
    std::vector<std::shared_ptr<Topic>> all;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [_, t] : topics_) all.push_back(t);
    }
    std::vector<std::string> out;
    for (auto& t : all) {
        std::lock_guard<std::mutex> lock(t->mu);
        for (const auto& m : t->members)
            for (const auto& [k, v] : m.labels)
                if (k == key) out.push_back(v);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::optional<TopicInfo> Hub::info(const std::string& name) {
    auto t = topic(name, false);
    if (!t) return std::nullopt;
    std::lock_guard<std::mutex> lock(t->mu);
    if (!t->known) return std::nullopt;
    return TopicInfo{t->floor, t->last, t->members.size(), t->ring.size()};
}

std::vector<std::string> Hub::topics() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, _] : topics_) out.push_back(name);
    return out;
}

}  // namespace hostsync::events
