-- hostsync.http's event-topic API without a server: argument checks (a caller's mistake is
-- a Usage error at the caller's line), what a handler's http.subscribe returns, and a
-- topic nobody subscribed to keeping nothing. The fan-out itself: tests/cpp
-- event_hub_test.cpp and tests/e2e/test_http_topics.py.
local t = require "hostsync.testing"
local http = require "hostsync.http"

t.test("publish: events must be every event after `from`, ids increasing", function()
  t.raises(function() http.publish("", 0, {}) end, "topic must be a non-empty string")
  t.raises(function() http.publish("t", -1, {}) end, "from must be an integer")
  t.raises(function() http.publish("t", 1.5, {}) end, "from must be an integer")
  t.raises(function() http.publish("t", 0, { { id = 1 }, { id = 1 } }) end, "event 2: ids must increase")
  t.raises(function() http.publish("t", 5, { { id = 5 } }) end, "event 1: ids must increase after `from`")
  t.raises(function() http.publish("t", 0, { { id = 1, event = "a\nb" } }) end, "event name must be a single-line")
  t.raises(function() http.publish("t", 0, { { id = 1, attrs = { p = {} } } }) end, "attrs must map names")
  t.raises(function() http.publish("t", 0, { "x" }) end, "each event must be a table")
  -- Nobody ever subscribed to "unheard": nothing is kept, and it has no state.
  t.eq(http.publish("unheard", 0, { { id = 1, data = { a = 1 } }, { id = 2, data = "x" } }), 0)
  t.is_nil(http.topic("unheard"))
end)

t.test("subscribe: what a handler returns for the server", function()
  local r = http.subscribe{ topic = "chat", after = 3, replay = { { id = 4, event = "chat", data = { m = "hi" },
    attrs = { project = "web" } } }, filter = { project = { "web", "" } }, labels = { token = 17 } }
  t.eq(r.subscribe.topic, "chat")
  t.eq(r.subscribe.after, 3)
  t.eq(r.subscribe.replay[1].data, '{"m":"hi"}')
  t.eq(r.subscribe.replay[1].attrs, { project = "web" })
  t.eq(r.subscribe.filter, { project = { "web", "" } })
  t.eq(r.subscribe.labels, { token = "17" })
  t.eq(http.subscribe{ topic = "x" }.subscribe.after, 0)
  t.raises(function() http.subscribe{ topic = "x", since = 1 } end, "unknown option 'since'")
  t.raises(function() http.subscribe{ after = 1 } end, "topic must be a non-empty string")
  t.raises(function() http.subscribe{ topic = "x", after = 2, replay = { { id = 2 } } } end, "replay event 1: ids must increase")
  t.raises(function() http.subscribe{ topic = "x", filter = { project = "web" } } end, "filter must be a table of name")
  t.raises(function() http.subscribe{ topic = "x", filter = { project = { 1 } } } end, "filter.project must list strings")
  t.raises(function() http.end_streams("token") end, "Usage: http.end_streams")
  t.eq(http.end_streams("token", "none"), 0)
end)
