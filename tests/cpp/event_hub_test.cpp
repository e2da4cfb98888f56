// Doctests for host/event_hub: topics, the ring, resume points, filters, racing
// publishers, gaps and labels, against a recording subscriber (no sockets).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "event_hub.hpp"

using namespace hostsync::events;

namespace {

struct Recorder : Subscriber {
    std::vector<std::string> frames;
    bool finished = false;
    bool gone = false;
    bool deliver(const std::shared_ptr<const std::string>& frame) override {
        if (gone) return false;
        frames.push_back(*frame);
        return true;
    }
    void finish() override { finished = true; }
    // The ids of the frames received, in order.
    std::vector<long> ids() const {
        std::vector<long> out;
        for (const auto& f : frames) out.push_back(std::stol(f.substr(4)));
        return out;
    }
};

Event ev(std::int64_t id, Attrs attrs = {}) { return make_event(id, "chat", "m" + std::to_string(id), std::move(attrs)); }

std::vector<Event> evs(std::initializer_list<std::int64_t> ids) {
    std::vector<Event> out;
    for (auto id : ids) out.push_back(ev(id));
    return out;
}

Subscription sub(const std::string& topic, std::int64_t after, std::vector<Event> replay = {}) {
    Subscription s;
    s.topic = topic;
    s.after = after;
    s.replay = std::move(replay);
    return s;
}

}  // namespace

TEST_CASE("event hub: frames are SSE with the id; a topic nobody subscribed to keeps nothing") {
    CHECK(*ev(7).frame == "id: 7\nevent: chat\ndata: m7\n\n");
    Hub hub;
    CHECK(hub.publish("t", 0, evs({1, 2})) == 0);
    CHECK_FALSE(hub.info("t").has_value());
}

TEST_CASE("event hub: replay, then buffered events after the resume point, then live ones") {
    Hub hub;
    auto a = std::make_shared<Recorder>();
    CHECK(hub.subscribe(sub("t", 3, evs({4, 5})), a) != 0);   // replay 4, 5: resumes after 5
    CHECK(hub.info("t")->last == 5);
    CHECK(hub.publish("t", 5, evs({6, 7})) == 2);
    CHECK(a->ids() == std::vector<long>{4, 5, 6, 7});

    // A second subscriber that already has 6 gets 7 from the ring, then 8 live.
    auto b = std::make_shared<Recorder>();
    CHECK(hub.subscribe(sub("t", 6), b) != 0);
    CHECK(hub.publish("t", 7, evs({8})) == 1);
    CHECK(b->ids() == std::vector<long>{7, 8});
    CHECK(a->ids().back() == 8);
    CHECK(hub.info("t")->subscribers == 2);
}

TEST_CASE("event hub: racing publishers send overlapping batches; each event goes out once, in order") {
    Hub hub;
    auto a = std::make_shared<Recorder>();
    hub.subscribe(sub("t", 10), a);
    CHECK(hub.publish("t", 10, evs({11, 12, 13})) == 3);
    CHECK(hub.publish("t", 10, evs({11, 12})) == 0);      // read before the first one published
    CHECK(hub.publish("t", 11, evs({12, 13, 14})) == 1);
    CHECK(a->ids() == std::vector<long>{11, 12, 13, 14});
}

TEST_CASE("event hub: a publish that starts beyond the ring ends the subscribers that would miss events") {
    Hub hub;
    auto old = std::make_shared<Recorder>();
    hub.subscribe(sub("t", 1), old);
    hub.publish("t", 1, evs({2}));
    auto ahead = std::make_shared<Recorder>();
    hub.subscribe(sub("t", 30), ahead);                   // it has everything up to 30
    CHECK(hub.publish("t", 20, evs({21, 31})) == 2);      // events 3..20 never reached the ring
    CHECK(old->finished);
    CHECK(old->ids() == std::vector<long>{2});
    CHECK_FALSE(ahead->finished);
    CHECK(ahead->ids() == std::vector<long>{31});
    CHECK(hub.info("t")->subscribers == 1);
    CHECK(hub.info("t")->floor == 20);
}

TEST_CASE("event hub: a resume point older than the ring gets its replay and is ended") {
    Hub hub({/*ring_events=*/3, /*ring_bytes=*/1 << 20});
    auto a = std::make_shared<Recorder>();
    hub.subscribe(sub("t", 0), a);
    hub.publish("t", 0, evs({1, 2, 3, 4, 5}));
    CHECK(hub.info("t")->floor == 2);                      // 3, 4, 5 kept
    CHECK(hub.info("t")->buffered == 3);

    auto late = std::make_shared<Recorder>();
    CHECK(hub.subscribe(sub("t", 0, evs({1})), late) == 0);   // has 1, the ring starts after 2
    CHECK(late->finished);
    CHECK(late->ids() == std::vector<long>{1});

    auto near = std::make_shared<Recorder>();
    CHECK(hub.subscribe(sub("t", 2), near) != 0);
    CHECK(near->ids() == std::vector<long>{3, 4, 5});
}

TEST_CASE("event hub: the first subscriber of an idle topic restarts its ring where it is") {
    Hub hub;
    auto a = std::make_shared<Recorder>();
    auto id = hub.subscribe(sub("t", 5), a);
    hub.publish("t", 5, evs({6, 7}));
    hub.unsubscribe("t", id);
    CHECK(hub.info("t")->subscribers == 0);
    // Within the ring: it is used.
    auto b = std::make_shared<Recorder>();
    auto idb = hub.subscribe(sub("t", 6), b);
    CHECK(b->ids() == std::vector<long>{7});
    hub.unsubscribe("t", idb);
    // Far ahead (the app read its store up to 100 while nobody listened): restarts at 100.
    auto c = std::make_shared<Recorder>();
    CHECK(hub.subscribe(sub("t", 100), c) != 0);
    CHECK(c->ids().empty());
    CHECK(hub.info("t")->floor == 100);
    CHECK(hub.publish("t", 100, evs({101})) == 1);
    CHECK(c->ids() == std::vector<long>{101});
}

TEST_CASE("event hub: filters decide per subscriber; a missing attribute counts as empty") {
    Hub hub;
    auto web = std::make_shared<Recorder>();
    auto all = std::make_shared<Recorder>();
    Subscription s = sub("chat", 0);
    s.filter.rules.push_back({"project", {"web", ""}});
    hub.subscribe(std::move(s), web);
    hub.subscribe(sub("chat", 0), all);
    std::vector<Event> batch;
    batch.push_back(ev(1, {{"project", "web"}}));
    batch.push_back(ev(2, {{"project", "other"}}));
    batch.push_back(ev(3));
    batch.push_back(ev(4, {{"project", "web"}, {"tenant", "t1"}}));
    hub.publish("chat", 0, std::move(batch));
    CHECK(web->ids() == std::vector<long>{1, 3, 4});
    CHECK(all->ids() == std::vector<long>{1, 2, 3, 4});
    // Filtered-out events still move the resume point: no replay of event 2 later.
    Filter f;
    f.rules.push_back({"project", {"web"}});
    f.rules.push_back({"tenant", {"t1"}});
    CHECK(f.allows({{"project", "web"}, {"tenant", "t1"}}));
    CHECK_FALSE(f.allows({{"project", "web"}}));
    CHECK(Filter{}.allows({}));
}

TEST_CASE("event hub: a gone client is dropped; end_streams finishes by label") {
    Hub hub;
    auto a = std::make_shared<Recorder>();
    auto b = std::make_shared<Recorder>();
    Subscription sa = sub("t", 0);
    sa.labels = {{"token", "17"}};
    Subscription sb = sub("t", 0);
    sb.labels = {{"token", "18"}};
    hub.subscribe(std::move(sa), a);
    hub.subscribe(std::move(sb), b);
    CHECK(hub.label_values("token") == std::vector<std::string>{"17", "18"});
    CHECK(hub.end_streams("token", "17") == 1);
    CHECK(hub.label_values("token") == std::vector<std::string>{"18"});
    CHECK(a->finished);
    CHECK_FALSE(b->finished);
    b->gone = true;
    hub.publish("t", 0, evs({1}));
    CHECK(hub.info("t")->subscribers == 0);
    CHECK(hub.end_streams("token", "18") == 0);
}
