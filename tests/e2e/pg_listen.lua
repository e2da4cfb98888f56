-- hostsync run pg_listen.lua URL CHANNEL COUNT: LISTENs on CHANNEL, prints "ready", then
-- prints the payload of each of the next COUNT notifications (one a line) and exits.
-- A test's independent witness of what the brain NOTIFYs.
local db = require "hostsync.db"
local url, channel, count = arg[1], arg[2], tonumber(arg[3])
local h = assert(db.open(url))
assert(h:listen(channel))
io.stdout:write("ready\n") io.stdout:flush()
for _ = 1, count do
  local n, err
  repeat n, err = h:wait_notification(30) until n or err
  assert(n, err)
  io.stdout:write(n.payload, "\n") io.stdout:flush()
end
h:close()
